"""The API enforces the same rules as the pages: bearer tokens, department scoping, masking, dev identity."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from engine import create_app
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.dto import DefinitionOut
from engine.models import HumanTask
from tests.conftest import Auth, engine_state

APPLICANT = {"name": "内蒙古示范建设有限公司", "contact_phone": "13912345678", "legal_id_card": "150102198001011234"}


def _start(client: FlaskClient, auth: Auth, by: str = "window", role: str = "clerk") -> str:
    headers = auth.headers(by, role, departments=("window",) if role == "clerk" else ())
    response = client.post("/api/process-definitions/key/sample_review/start", headers=headers,
                           json={"variables": {"project_name": "测试项目", "applicant": APPLICANT}})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def test_clerks_see_and_work_only_their_departments_tasks(client: FlaskClient, auth: Auth,
                                                          deploy: Callable[..., DefinitionOut], app: Flask) -> None:
    deploy("sample_review")
    instance_id = _start(client, auth)
    hc = auth.headers("zhang.hc", "clerk", departments=("hc",))
    listed = client.get("/api/tasks", headers=hc).get_json()["items"]
    assert [t["bpmn_id"] for t in listed] == ["review_fire"]
    nrp_task = next(t for t in client.get(f"/api/tasks?processInstanceId={instance_id}",
                                          headers=auth.headers("auditor", "auditor")).get_json()["items"]
                    if t["bpmn_id"] == "review_land")
    for method, path, body in (("GET", "", None), ("POST", "/claim", None),
                               ("POST", "/complete", {"variables": {"decision": "approve", "opinion": "同意同意"}})):
        response = client.open(f"/api/tasks/{nrp_task['id']}{path}", method=method, headers=hc, json=body)
        assert response.status_code == 403, (path, response.get_json())
        assert response.mimetype == "application/problem+json"
    with engine_state(app).sessions() as session:
        task = session.get(HumanTask, nrp_task["id"])
        assert (task.status, task.assignee) == ("open", None)


def test_transfer_goes_to_a_colleague_of_the_department_only(client: FlaskClient, auth: Auth,
                                                             deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    instance_id = _start(client, auth)
    li = auth.headers("li.nrp", "clerk", departments=("nrp",))
    auth.user("wang.nrp", "clerk", departments=("nrp",))
    auth.user("zhao.hc", "clerk", departments=("hc",))
    task = next(t for t in client.get("/api/tasks", headers=li).get_json()["items"] if t["bpmn_id"] == "review_land")
    url = f"/api/tasks/{task['id']}/transfer"
    assert client.post(url, headers=li, json={"assignee": "zhao.hc", "reason": "x"}).status_code == 422
    assert client.post(url, headers=li, json={"assignee": "nobody"}).status_code == 422
    response = client.post(url, headers=li, json={"assignee": "wang.nrp", "reason": "休假"})
    assert response.status_code == 200 and response.get_json()["assignee"] == "wang.nrp"
    events = client.get(f"/api/history/process-instances/{instance_id}/events",
                        headers=auth.headers("auditor", "auditor")).get_json()["items"]
    transferred = [e for e in events if e["kind"] == "task:transferred"]
    assert [(e["actor"], e["payload"]["from"], e["payload"]["to"], e["payload"]["reason"]) for e in transferred] == [
        ("li.nrp", None, "wang.nrp", "休假")]
    # li no longer holds it: only the new assignee (or a leader) may move it on
    assert client.post(url, headers=li, json={"assignee": "li.nrp"}).status_code == 403


def test_applicants_see_only_their_own_projects(client: FlaskClient, auth: Auth,
                                                deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    others = _start(client, auth)
    mine = _start(client, auth, by="applicant.a", role="applicant")
    applicant = auth.headers("applicant.a", "applicant")
    listed = client.get("/api/process-instances", headers=applicant).get_json()["items"]
    assert [i["id"] for i in listed] == [mine]
    assert client.get(f"/api/process-instances/{others}", headers=applicant).status_code == 403
    assert client.get(f"/api/history/process-instances/{others}/events", headers=applicant).status_code == 403


def test_personal_numbers_are_masked_for_roles_that_do_not_need_them(client: FlaskClient, auth: Auth,
                                                                     deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    instance_id = _start(client, auth)
    url = f"/api/process-instances/{instance_id}"
    clerk = client.get(url, headers=auth.headers("li.nrp", "clerk", departments=("nrp",))).get_json()
    assert clerk["variables"]["applicant"]["contact_phone"] == "139****5678"
    assert clerk["variables"]["applicant"]["legal_id_card"] == "150102********1234"
    for name, role, departments in (("window", "clerk", ("window",)), ("auditor", "auditor", ())):
        body = client.get(url, headers=auth.headers(name, role, departments=departments)).get_json()
        assert body["variables"]["applicant"]["contact_phone"] == "13912345678", name


def test_bad_credentials_are_401_problems(client: FlaskClient, auth: Auth) -> None:
    auth.user("li.nrp", "clerk", departments=("nrp",))
    for headers in ({}, {"Authorization": "Bearer apr_nope"}, {"Authorization": "Basic abc"},
                    {"X-Actor": "li.nrp"}):
        response = client.get("/api/tasks", headers=headers)
        assert response.status_code == 401, headers
        assert response.get_json()["type"] == "/problems/unauthenticated"
    assert "dev" in client.get("/api/tasks", headers={"X-Actor": "li.nrp"}).get_json()["detail"].lower()


def test_dev_identity_is_opt_in(settings: Settings, clock: SimulatedClock, app: Flask) -> None:
    assert settings.security.dev_identity is False
    dev = dataclasses.replace(settings, security=dataclasses.replace(settings.security, dev_identity=True))
    dev_app = create_app(dev, clock=clock)
    try:
        assert dev_app.test_client().get("/api/tasks", headers={"X-Actor": "dev"}).status_code == 200
    finally:
        engine_state(dev_app).db_engine.dispose()


def test_a_disabled_users_tokens_stop_working(client: FlaskClient, auth: Auth, app: Flask) -> None:
    from engine.auth import accounts
    from engine.services.commands import run_command

    headers = auth.headers("li.nrp", "clerk", departments=("nrp",))
    assert client.get("/api/tasks", headers=headers).status_code == 200
    state = engine_state(app)
    run_command(state.sessions, lambda s: accounts.disable_user(s, state.ctx, "li.nrp", actor="admin",
                                                                now=state.clock.now(), reason="离职"))
    assert client.get("/api/tasks", headers=headers).status_code == 401
