"""/engine-rest through Flask's test client: Camunda's shapes, status codes, typed variables and error bodies for
deployments, definitions, instances, external tasks and user tasks; HTTP Basic and the role table."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import SimulatedClock
from engine.config import Settings, load_settings
from engine.services import history, instances
from tests.conftest import DATA, HMAC_KEY, ROOT, TEST_PASSWORD, Auth, engine_state

CAMUNDA = DATA / "camunda"
Headers = Callable[[str], dict[str, str]]
PEOPLE = {"designer": ("designer", ()), "window": ("clerk", ("window",)), "wang.nrp": ("clerk", ("nrp",)),
          "bot": ("worker", ()), "bot2": ("worker", ()), "auditor": ("auditor", ())}
WORK = [{"topicName": "compat.work", "lockDuration": 60_000}]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """As tests/conftest.py, with the Camunda test diagrams' forms."""
    return load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": f"sqlite:///{tmp_path}/engine.sqlite3", "sqlite_synchronous": "NORMAL"},
        "paths": {"processes": str(ROOT / "processes"), "forms": str(CAMUNDA / "forms"), "var": str(tmp_path / "var")},
        "audit": {"hmac_key": HMAC_KEY}, "security": {"secret_key": "test-session-secret-0123456789"},
        "scheduler": {"enabled": False}, "workers": {"enabled": False}})


@pytest.fixture
def h(auth: Auth) -> Headers:
    def headers(name: str) -> dict[str, str]:
        role, departments = PEOPLE[name]
        return auth.headers(name, role, departments=departments)

    return headers


def deploy(client: FlaskClient, h: Headers, *files: Path, changed_only: bool | None = None,
           name: str = "compat") -> Any:
    """As Camunda Modeler sends it: one file part per resource, named after the file."""
    data: dict[str, Any] = {"deployment-name": name, "deployment-source": "Camunda Modeler"}
    if changed_only is not None:
        data["deploy-changed-only"] = str(changed_only).lower()
    for path in files:
        data[path.name] = (io.BytesIO(path.read_bytes()), path.name)
    return client.post("/engine-rest/deployment/create", data=data, headers=h("designer"),
                       content_type="multipart/form-data")


def start(client: FlaskClient, h: Headers, key: str, variables: dict[str, Any], **extra: Any) -> Any:
    return client.post(f"/engine-rest/process-definition/key/{key}/start", headers=h("window"),
                       json={"variables": variables, **extra})


def fetch(client: FlaskClient, h: Headers, worker: str = "bot", **extra: Any) -> list[dict[str, Any]]:
    response = client.post("/engine-rest/external-task/fetchAndLock", headers=h(worker),
                           json={"workerId": worker, "maxTasks": 5, "topics": WORK, **extra})
    assert response.status_code == 200, response.get_json()
    return list(response.get_json())


def post(client: FlaskClient, h: Headers, path: str, body: dict[str, Any] | None = None,
         as_: str = "bot") -> Any:
    return client.post(f"/engine-rest{path}", headers=h(as_), json=body or {})


def variables_of(app: Flask, instance_id: str) -> dict[str, Any]:
    state = engine_state(app)
    with state.sessions() as session:
        return instances.describe(session, state.ctx, instance_id).variables


def events(app: Flask, instance_id: str) -> list[tuple[str, dict[str, Any]]]:
    with engine_state(app).sessions() as session:
        return [(e.kind, e.payload) for e in history.list_events(session, instance_id)]


def test_modeler_deploy_shapes_and_deploy_changed_only(client: FlaskClient, h: Headers) -> None:
    first = deploy(client, h, CAMUNDA / "camunda_permit.bpmn", changed_only=True)
    assert first.status_code == 200 and first.mimetype == "application/json"
    body = first.get_json()
    (definition_id, definition), = body["deployedProcessDefinitions"].items()
    assert definition_id.startswith("camunda_permit:1:")
    assert definition["key"] == "camunda_permit" and definition["version"] == 1
    assert definition["deploymentId"] == body["id"] and definition["resource"] == "camunda_permit.bpmn"
    assert body["name"] == "compat" and body["source"] == "Camunda Modeler"
    assert body["links"][0]["href"].endswith(f"/engine-rest/deployment/{body['id']}")

    again = deploy(client, h, CAMUNDA / "camunda_permit.bpmn", changed_only=True).get_json()
    assert again["id"] == body["id"] and again["deployedProcessDefinitions"] is None  # nothing changed

    forced = deploy(client, h, CAMUNDA / "camunda_permit.bpmn").get_json()  # Camunda's default: false
    (_, second), = forced["deployedProcessDefinitions"].items()
    assert second["version"] == 2 and forced["id"] != body["id"]

    assert client.get("/engine-rest/deployment?maxResults=0", headers=h("designer")).get_json() == []
    assert len(client.get("/engine-rest/deployment", headers=h("designer")).get_json()) == 2
    latest = client.get("/engine-rest/process-definition?key=camunda_permit&latestVersion=true",
                        headers=h("window")).get_json()
    assert [(d["version"], d["deploymentId"]) for d in latest] == [(2, forced["id"])]
    assert client.get("/engine-rest/process-definition/key/camunda_permit", headers=h("window")).get_json()[
        "id"] == latest[0]["id"]


def test_a_refused_deploy_is_a_parse_exception_and_deploys_nothing(client: FlaskClient, h: Headers,
                                                                     tmp_path: Path) -> None:
    text = (CAMUNDA / "camunda_permit.bpmn").read_text(encoding="utf-8")
    bad = tmp_path / "bad_permit.bpmn"
    bad.write_text(text.replace("${approved}", "${review.approved}"), encoding="utf-8")
    line = next(n for n, row in enumerate(bad.read_text().splitlines(), 1) if "review.approved" in row)
    response = deploy(client, h, CAMUNDA / "camunda_client_check.bpmn", bad)
    assert response.status_code == 400
    body = response.get_json()
    assert body["type"] == "ParseException" and "juel-unsupported" in body["message"]
    errors = body["details"]["bad_permit.bpmn"]["errors"]
    assert [(e["line"], e["mainElementId"]) for e in errors] == [(line, "flow_approved")]
    assert client.get("/engine-rest/process-definition", headers=h("window")).get_json() == []


def test_start_fetch_complete_with_typed_variables(app: Flask, client: FlaskClient, h: Headers) -> None:
    assert deploy(client, h, CAMUNDA / "camunda_client_check.bpmn").status_code == 200
    started = start(client, h, "camunda_client_check", {
        "mode": {"value": "complete", "type": "String"}, "amount": {"value": 1200, "type": "Integer"},
        "since": {"value": "2026-03-02T09:00:00.000+0800", "type": "Date"},
        "order": {"value": '{"lines": [1, 2]}', "type": "Json"}}, businessKey="BK-1")
    assert started.status_code == 200
    instance = started.get_json()
    assert instance["definitionId"].startswith("camunda_client_check:1:") and instance["businessKey"] == "BK-1"
    assert instance["ended"] is False and instance["suspended"] is False

    (task,) = fetch(client, h, topics=[{**WORK[0], "variables": ["amount", "since", "order"],
                                        "includeExtensionProperties": True}])
    assert task["processInstanceId"] == instance["id"] and task["topicName"] == "compat.work"
    assert task["activityId"] == "work" and task["workerId"] == "bot" and task["retries"] is None
    assert task["businessKey"] == "BK-1" and task["extensionProperties"] == {"channel": "test"}
    assert task["variables"] == {
        "amount": {"type": "Integer", "value": 1200, "valueInfo": {}},
        "since": {"type": "Date", "value": "2026-03-02T09:00:00.000+0800", "valueInfo": {}},
        "order": {"type": "Json", "value": '{"lines": [1, 2]}', "valueInfo": {}}}
    assert task["lockExpirationTime"] == "2026-03-02T01:01:00.000+0000"  # the test clock + 60 s, Camunda's format

    done = post(client, h, f"/external-task/{task['id']}/complete", {"workerId": "bot", "variables": {
        "result": {"value": 2**40, "type": "Long"}, "ratio": {"value": 0.25, "type": "Double"},
        "details": {"value": '{"ok": true}', "type": "json"},  # the JS client's lower-case type names
        "label": {"value": "done"}}})  # the Python client sends no type
    assert done.status_code == 204 and done.data == b""
    gone = client.get(f"/engine-rest/process-instance/{instance['id']}", headers=h("window"))
    assert gone.status_code == 404
    assert gone.get_json()["type"] == "InvalidRequestException"
    final = variables_of(app, instance["id"])
    assert (final["result"], final["ratio"], final["details"], final["label"]) == (2**40, 0.25, {"ok": True}, "done")
    assert final["order"] == {"lines": [1, 2]} and final["since"] == "2026-03-02T09:00:00.000+0800"


def test_failure_with_retries_then_incident(app: Flask, client: FlaskClient, h: Headers,
                                            clock: SimulatedClock) -> None:
    deploy(client, h, CAMUNDA / "camunda_client_check.bpmn")
    instance_id = start(client, h, "camunda_client_check", {"mode": {"value": "fail"}}).get_json()["id"]
    (task,) = fetch(client, h)
    report = {"workerId": "bot", "errorMessage": "Gateway down", "errorDetails": "trace…", "retries": 1,
              "retryTimeout": 30_000}
    assert post(client, h, f"/external-task/{task['id']}/failure", report).status_code == 204
    assert fetch(client, h) == []  # not before retryTimeout
    clock.advance(timedelta(seconds=30))
    (again,) = fetch(client, h)
    assert (again["id"], again["retries"], again["errorMessage"], again["errorDetails"]) == (
        task["id"], 1, "Gateway down", "trace…")
    # Camunda's DTO has a primitive `retries`: leaving it out reports 0 retries, an incident at once.
    assert post(client, h, f"/external-task/{task['id']}/failure", {"workerId": "bot"}).status_code == 204
    clock.advance(timedelta(hours=1))
    assert fetch(client, h) == []
    listed = client.get("/engine-rest/external-task?noRetriesLeft=true", headers=h("bot")).get_json()
    assert [(t["id"], t["retries"], t["workerId"]) for t in listed] == [(task["id"], 0, None)]
    assert client.get("/engine-rest/external-task/count?withRetriesLeft=true", headers=h("bot")).get_json() == {
        "count": 0}
    assert [p["kind"] for k, p in events(app, instance_id) if k == "instance:incident"] == ["failed_job"]
    late = post(client, h, f"/external-task/{task['id']}/complete", {"workerId": "bot"})
    assert late.status_code == 400 and late.get_json()["type"] == "BadUserRequestException"


def test_bpmn_error_reaches_the_boundary_on_that_task(app: Flask, client: FlaskClient, h: Headers) -> None:
    deploy(client, h, CAMUNDA / "camunda_client_check.bpmn")
    instance_id = start(client, h, "camunda_client_check", {"mode": {"value": "reject"}}).get_json()["id"]
    (task,) = fetch(client, h)
    response = post(client, h, f"/external-task/{task['id']}/bpmnError", {
        "workerId": "bot", "errorCode": "REJECTED", "errorMessage": "blacklisted",
        "variables": {"reason": {"value": "失信主体", "type": "String"}}})
    assert response.status_code == 204
    caught = [p for k, p in events(app, instance_id) if k == "job:bpmn_error"]
    assert [(p["code"], p["caught_by"]) for p in caught] == [("REJECTED", "work_rejected")]
    assert variables_of(app, instance_id)["reason"] == "失信主体"
    assert client.get(f"/engine-rest/process-instance/{instance_id}", headers=h("window")).status_code == 404
    gone = post(client, h, f"/external-task/{task['id']}/complete", {"workerId": "bot"})
    assert gone.status_code == 404 and gone.get_json()["type"] == "NotFoundException"


def test_lock_rules_extend_unlock_and_other_workers(client: FlaskClient, h: Headers, clock: SimulatedClock) -> None:
    deploy(client, h, CAMUNDA / "camunda_client_check.bpmn")
    start(client, h, "camunda_client_check", {"mode": {"value": "slow"}})
    (task,) = fetch(client, h)
    stolen = post(client, h, f"/external-task/{task['id']}/complete", {"workerId": "bot2"}, as_="bot2")
    assert stolen.status_code == 400 and stolen.get_json()["type"] == "BadUserRequestException"
    assert "bot" in stolen.get_json()["message"]
    assert post(client, h, f"/external-task/{task['id']}/extendLock",
                {"workerId": "bot", "newDuration": 600_000}).status_code == 204
    shown = client.get(f"/engine-rest/external-task/{task['id']}", headers=h("bot")).get_json()
    assert shown["lockExpirationTime"] == "2026-03-02T01:10:00.000+0000" and shown["workerId"] == "bot"
    assert fetch(client, h, worker="bot2") == []
    assert client.post(f"/engine-rest/external-task/{task['id']}/unlock", headers=h("bot2")).status_code == 204
    (taken,) = fetch(client, h, worker="bot2")
    assert taken["id"] == task["id"] and taken["workerId"] == "bot2"
    bad = post(client, h, f"/external-task/{task['id']}/extendLock", {"workerId": "bot", "newDuration": 1000})
    assert bad.status_code == 400
    assert post(client, h, "/external-task/no-such-task/unlock").status_code == 404


def test_user_tasks_and_the_modeler_diagram_to_the_end(app: Flask, client: FlaskClient, h: Headers,
                                                       clock: SimulatedClock) -> None:
    deploy(client, h, CAMUNDA / "camunda_permit.bpmn")
    instance_id = start(client, h, "camunda_permit", {}).get_json()["id"]
    inbox = client.get("/engine-rest/task?candidateGroup=window", headers=h("window")).get_json()
    assert [(t["taskDefinitionKey"], t["formKey"], t["assignee"]) for t in inbox] == [
        ("intake", "camunda_intake", None)]
    assert inbox[0]["processDefinitionId"].startswith("camunda_permit:1:")
    assert client.get("/engine-rest/task", headers=h("wang.nrp")).get_json() == []  # another department's
    intake = inbox[0]["id"]
    assert post(client, h, f"/task/{intake}/claim", {"userId": "window"}, as_="window").status_code == 204
    assert client.get("/engine-rest/task?assignee=window", headers=h("window")).get_json()[0]["id"] == intake
    invalid = post(client, h, f"/task/{intake}/complete", {"variables": {"region": {"value": "Z"}}}, as_="window")
    assert invalid.status_code == 400 and invalid.get_json()["type"] == "InvalidRequestException"
    assert post(client, h, f"/task/{intake}/complete", {"variables": {
        "amount": {"value": 5000, "type": "Integer"}, "region": {"value": "A", "type": "String"}}},
        as_="window").status_code == 204

    score = client.post("/engine-rest/external-task/fetchAndLock", headers=h("bot"), json={
        "workerId": "bot", "maxTasks": 1, "topics": [{"topicName": "permit.score", "lockDuration": 10_000,
                                                      "includeExtensionProperties": True}]}).get_json()
    assert score[0]["extensionProperties"] == {"model": "v2"}
    assert post(client, h, f"/external-task/{score[0]['id']}/complete",
                {"workerId": "bot", "variables": {"score": {"value": 87}}}).status_code == 204

    # ${amount > 1000 && region == 'A'} took the review, which camunda:assignee gave to wang.nrp.
    (review,) = client.get(f"/engine-rest/task?processInstanceId={instance_id}", headers=h("wang.nrp")).get_json()
    assert (review["taskDefinitionKey"], review["assignee"]) == ("review", "wang.nrp")
    assert post(client, h, f"/task/{review['id']}/complete", {"variables": {"approved": {"value": True,
                "type": "Boolean"}}}, as_="wang.nrp").status_code == 204
    (issue,) = client.post("/engine-rest/external-task/fetchAndLock", headers=h("bot"), json={
        "workerId": "bot", "maxTasks": 1, "topics": [{"topicName": "permit.issue_camunda",
                                                      "lockDuration": 10_000}]}).get_json()
    assert post(client, h, f"/external-task/{issue['id']}/complete", {"workerId": "bot"}).status_code == 204
    assert client.get(f"/engine-rest/process-instance/{instance_id}", headers=h("window")).status_code == 404
    advanced = [e for k, p in events(app, instance_id) if k == "instance:advanced" for e in p["elements"]]
    assert {"review", "gw_approved", "merge", "end_issued"} <= set(advanced) and "cool_off" not in advanced


def test_http_basic_with_password_or_token_and_camunda_errors(app: Flask, client: FlaskClient, auth: Auth,
                                                              h: Headers) -> None:
    token = auth.token("bot", "worker")
    body = {"workerId": "bot", "maxTasks": 1, "topics": WORK}

    def basic(user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    assert client.post("/engine-rest/external-task/fetchAndLock", json=body,
                       headers=basic("bot", TEST_PASSWORD)).status_code == 200
    assert client.post("/engine-rest/external-task/fetchAndLock", json=body, headers=basic("bot", token)).status_code \
        == 200
    refused = client.post("/engine-rest/external-task/fetchAndLock", json=body, headers=basic("bot", "wrong-Pass-1"))
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Basic")
    assert refused.get_json()["type"] == "AuthenticationException"
    anonymous = client.get("/engine-rest/process-definition")
    assert anonymous.status_code == 401 and anonymous.mimetype == "application/json"
    clerk = client.post("/engine-rest/external-task/fetchAndLock", json=body, headers=h("window"))
    assert clerk.status_code == 403 and clerk.get_json()["type"] == "AuthorizationException"
    assert "/api/" not in client.get("/engine-rest/job", headers=h("bot")).get_json()["message"]
    unknown = client.get("/engine-rest/job", headers=h("bot"))
    assert unknown.status_code == 404 and unknown.get_json()["type"] == "NotFoundException"
    bad = client.post("/engine-rest/process-definition/key/nope/start", headers=h("window"), json={})
    assert bad.status_code == 404 and set(bad.get_json()) == {"type", "message", "code"}
    typed = start(client, h, "nope", {"x": {"value": "a", "type": "Integer"}})
    assert typed.status_code == 404  # the key is checked first, as in Camunda
