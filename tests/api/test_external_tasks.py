"""/api/external-tasks and /api/incidents through the HTTP API: the worker protocol, long polling, roles, and
problem+json for bad or stale reports."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from tests.conftest import Auth

Headers = Callable[[str], dict[str, str]]
PEOPLE = {"window": ("clerk", ("window",)), "clerk": ("clerk", ("nrp", "hc")), "bot": ("worker", ()),
          "bot2": ("worker", ()), "auditor": ("auditor", ()), "admin": ("admin", ())}
APPROVE = {"variables": {"decision": "approve", "opinion": "符合要求"}}
TOPICS = [{"topicName": "permit.issue", "lockDuration": 60_000}]


@pytest.fixture
def h(auth: Auth) -> Headers:
    def headers(name: str) -> dict[str, str]:
        role, departments = PEOPLE[name]
        return auth.headers(name, role, departments=departments)

    for name in PEOPLE:
        headers(name)
    return headers


def _approved(client: FlaskClient, h: Headers, variables: dict[str, Any] | None = None) -> str:
    """Start the sample and approve every review: the permit job is then waiting."""
    instance_id = client.post("/api/process-definitions/key/sample_review/start",
                              json={"variables": variables or {"project": "示范"}}, headers=h("window")).get_json()["id"]
    for task in client.get(f"/api/tasks?processInstanceId={instance_id}", headers=h("clerk")).get_json()["items"]:
        assert client.post(f"/api/tasks/{task['id']}/complete", json=APPROVE, headers=h("clerk")).status_code == 200
    return instance_id


def _fetch(client: FlaskClient, h: Headers, worker: str = "bot", **extra: Any) -> Any:
    return client.post("/api/external-tasks/fetch-and-lock",
                       json={"workerId": worker, "maxTasks": 5, "topics": TOPICS, **extra}, headers=h(worker))


@pytest.fixture(autouse=True)
def _deployed(deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")


def test_fetch_complete_and_the_instance_moves_on(client: FlaskClient, h: Headers) -> None:
    instance_id = _approved(client, h)
    response = _fetch(client, h)
    assert response.status_code == 200
    [job] = response.get_json()["items"]
    assert (job["topic"], job["bpmn_id"], job["instance_id"], job["lock_owner"]) == (
        "permit.issue", "issue_permit", instance_id, "bot")
    assert job["variables"]["project"] == "示范" and job["retries"] == 3
    assert _fetch(client, h, "bot2").get_json()["items"] == []

    stale = client.post(f"/api/external-tasks/{job['id']}/complete", json={"workerId": "bot2", "variables": {}},
                        headers=h("bot2"))
    assert stale.status_code == 409 and stale.get_json()["type"] == "/problems/job-not-claimed"
    done = client.post(f"/api/external-tasks/{job['id']}/complete",
                       json={"workerId": "bot", "variables": {"permit_no": "呼建许-1"}}, headers=h("bot"))
    assert done.status_code == 200 and done.get_json()["status"] == "completed"
    instance = client.get(f"/api/process-instances/{instance_id}", headers=h("auditor")).get_json()
    assert instance["status"] == "completed" and instance["variables"]["permit"] == {"permit_no": "呼建许-1"}
    listed = client.get(f"/api/external-tasks?processInstanceId={instance_id}", headers=h("bot")).get_json()["items"]
    assert [(j["id"], j["status"], "variables" in j) for j in listed] == [(job["id"], "completed", False)]
    again = client.post(f"/api/external-tasks/{job['id']}/complete", json={"workerId": "bot"}, headers=h("bot"))
    assert again.status_code == 409 and again.get_json()["type"] == "/problems/job-not-open"


def test_failures_then_an_incident_that_an_admin_retries(client: FlaskClient, h: Headers,
                                                         clock: SimulatedClock) -> None:
    instance_id = _approved(client, h)
    [job] = _fetch(client, h).get_json()["items"]
    failed = client.post(f"/api/external-tasks/{job['id']}/failure",
                         json={"workerId": "bot", "errorMessage": "证照系统超时", "errorDetails": "Traceback…",
                               "retries": 1, "retryTimeout": 30_000}, headers=h("bot"))
    assert failed.status_code == 200
    assert (failed.get_json()["status"], failed.get_json()["retries"]) == ("available", 1)
    assert _fetch(client, h).get_json()["items"] == []
    clock.advance(timedelta(seconds=30))
    [job] = _fetch(client, h).get_json()["items"]
    assert job["attempts"] == 2 and job["error_message"] == "证照系统超时"

    exhausted = client.post(f"/api/external-tasks/{job['id']}/failure",
                            json={"workerId": "bot", "errorMessage": "仍然超时", "retries": 0}, headers=h("bot"))
    assert exhausted.get_json()["status"] == "incident"
    assert client.get("/api/incidents", headers=h("bot")).status_code == 403  # workers do not administer
    [incident] = client.get("/api/incidents", headers=h("auditor")).get_json()["items"]
    assert (incident["job_id"], incident["instance_id"], incident["kind"]) == (job["id"], instance_id, "failed_job")
    assert client.post(f"/api/incidents/{incident['id']}/retry", json={}, headers=h("auditor")).status_code == 403
    bad = client.post(f"/api/incidents/{incident['id']}/retry", json={"retries": 0}, headers=h("admin"))
    assert bad.status_code == 422
    retried = client.post(f"/api/incidents/{incident['id']}/retry", json={"retries": 2}, headers=h("admin"))
    assert retried.status_code == 200 and retried.get_json()["status"] == "resolved"
    twice = client.post(f"/api/incidents/{incident['id']}/retry", json={}, headers=h("admin"))
    assert twice.status_code == 409 and twice.get_json()["type"] == "/problems/incident-resolved"
    [job] = _fetch(client, h).get_json()["items"]
    assert job["retries"] == 2
    assert client.get("/api/incidents?status=all", headers=h("admin")).get_json()["items"][0]["status"] == "resolved"
    assert client.get("/api/incidents", headers=h("admin")).get_json()["items"] == []


def test_a_bpmn_error_takes_the_boundary_path(client: FlaskClient, h: Headers) -> None:
    instance_id = _approved(client, h)
    [job] = _fetch(client, h).get_json()["items"]
    response = client.post(f"/api/external-tasks/{job['id']}/bpmn-error",
                           json={"workerId": "bot", "errorCode": "blacklisted", "errorMessage": "失信",
                                 "variables": {"refusal_reason": "失信主体"}}, headers=h("bot"))
    assert response.status_code == 200 and response.get_json()["status"] == "bpmn_error"
    instance = client.get(f"/api/process-instances/{instance_id}", headers=h("auditor")).get_json()
    assert instance["status"] == "completed"
    assert instance["variables"]["refusal"] == {"code": "blacklisted", "message": "失信"}
    events = client.get(f"/api/history/process-instances/{instance_id}/events?limit=200",
                        headers=h("auditor")).get_json()["items"]
    [error] = [e for e in events if e["kind"] == "job:bpmn_error"]
    assert (error["payload"]["code"], error["payload"]["caught_by"], error["actor"]) == (
        "blacklisted", "permit_refused", "bot")


def test_extend_lock(client: FlaskClient, h: Headers, clock: SimulatedClock) -> None:
    _approved(client, h)
    [job] = _fetch(client, h).get_json()["items"]
    response = client.post(f"/api/external-tasks/{job['id']}/extend-lock",
                           json={"workerId": "bot", "newDuration": 600_000}, headers=h("bot"))
    assert response.status_code == 200
    clock.advance(timedelta(minutes=9))
    assert _fetch(client, h, "bot2").get_json()["items"] == []
    clock.advance(timedelta(minutes=1))
    assert [j["lock_owner"] for j in _fetch(client, h, "bot2").get_json()["items"]] == ["bot2"]


@pytest.mark.parametrize("body, message", [
    ({"maxTasks": 1, "topics": TOPICS}, "workerId"),
    ({"workerId": "bot", "maxTasks": 1, "topics": []}, "topics"),
    ({"workerId": "bot", "maxTasks": 1, "topics": [{"topicName": "permit.issue"}]}, "lockDuration"),
    ({"workerId": "bot", "maxTasks": 0, "topics": TOPICS}, "maxTasks"),
    ({"workerId": "bot", "maxTasks": 1, "topics": TOPICS, "asyncResponseTimeout": -1}, "asyncResponseTimeout"),
    ({"workerId": "bot", "maxTasks": 1, "topics": [{"topicName": 7, "lockDuration": 5}]}, "topicName"),
])
def test_bad_fetches_are_422_and_lock_nothing(client: FlaskClient, h: Headers, body: dict[str, Any],
                                              message: str) -> None:
    _approved(client, h)
    response = client.post("/api/external-tasks/fetch-and-lock", json=body, headers=h("bot"))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert message in response.get_json()["detail"]
    assert [j["status"] for j in client.get("/api/external-tasks", headers=h("bot")).get_json()["items"]] == [
        "available"]


def test_only_workers_fetch_and_unknown_jobs_are_404(client: FlaskClient, h: Headers) -> None:
    _approved(client, h)
    refused = client.post("/api/external-tasks/fetch-and-lock",
                          json={"workerId": "clerk", "maxTasks": 1, "topics": TOPICS}, headers=h("clerk"))
    assert refused.status_code == 403
    response = client.post("/api/external-tasks/nope/complete", json={"workerId": "bot"}, headers=h("bot"))
    assert response.status_code == 404 and response.get_json()["type"] == "/problems/job-not-found"
    assert client.get("/api/incidents/nope", headers=h("admin")).status_code == 404


def test_long_polling_answers_as_soon_as_a_job_appears(app: Flask, client: FlaskClient, h: Headers) -> None:
    """Real threads and a real (short) wait: the poll is woken by the commit that creates the job."""
    started = time.monotonic()
    assert _fetch(client, h, asyncResponseTimeout=300).get_json()["items"] == []
    assert 0.25 <= time.monotonic() - started < 5  # waited about the timeout, then answered empty

    answer: dict[str, Any] = {}

    def poll() -> None:
        begun = time.monotonic()
        answer["items"] = _fetch(app.test_client(), h, asyncResponseTimeout=10_000).get_json()["items"]
        answer["seconds"] = time.monotonic() - begun

    poller = threading.Thread(target=poll)
    poller.start()
    _approved(client, h)
    poller.join(15)
    assert [j["topic"] for j in answer["items"]] == ["permit.issue"]
    assert answer["seconds"] < 8  # well before the 10 s timeout
