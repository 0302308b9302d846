"""Concurrent commands on one instance (SQLite: BEGIN IMMEDIATE serializes writers; DESIGN.md §3.1)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask

from engine.dto import DefinitionOut
from engine.models import ProcessInstance
from tests.conftest import Auth, engine_state

BODY = {"variables": {"decision": "approve", "opinion": "同意"}}
# Who acts in these tests: clerks of the sample's departments (nrp, hc), the window, an auditor, an admin.
PEOPLE = {"w": ("clerk", ("window",)), "a": ("clerk", ("nrp", "hc")), "b": ("clerk", ("nrp", "hc")),
          "c": ("clerk", ("nrp", "hc")), "zhao": ("clerk", ("hc",)), "qian": ("clerk", ("hc",)),
          "auditor": ("auditor", ()), "admin": ("admin", ())}
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def h(auth: Auth) -> Headers:
    def headers(name: str) -> dict[str, str]:
        role, departments = PEOPLE[name]
        return auth.headers(name, role, departments=departments)

    for name in PEOPLE:  # issue every token before threads race
        headers(name)
    return headers


def _start(app: Flask, h: Headers) -> tuple[str, dict[str, str]]:
    client = app.test_client()
    instance_id = client.post("/api/process-definitions/key/sample_review/start", json={},
                              headers=h("w")).get_json()["id"]
    tasks = client.get(f"/api/tasks?processInstanceId={instance_id}", headers=h("auditor")).get_json()["items"]
    return instance_id, {t["bpmn_id"]: t["id"] for t in tasks}


def _concurrently(calls: list[Callable[[], int]]) -> list[int]:
    barrier = threading.Barrier(len(calls))
    results: list[int] = [0] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def _complete(app: Flask, task_id: str, headers: dict[str, str]) -> Callable[[], int]:
    def call() -> int:
        return app.test_client().post(f"/api/tasks/{task_id}/complete", json=BODY, headers=headers).status_code
    return call


def test_two_completions_of_one_task_one_wins_one_409(app: Flask, deploy: Callable[..., DefinitionOut],
                                                      h: Headers) -> None:
    deploy("sample_review")
    for _round in range(5):
        instance_id, tasks = _start(app, h)
        statuses = _concurrently([_complete(app, tasks["review_land"], h("a")),
                                  _complete(app, tasks["review_land"], h("b"))])
        assert sorted(statuses) == [200, 409]
        events = app.test_client().get(f"/api/history/process-instances/{instance_id}/events?limit=200",
                                       headers=h("auditor"))
        completed = [e for e in events.get_json()["items"] if e["kind"] == "task:completed"]
        assert len(completed) == 1


def test_completions_of_different_tasks_both_succeed(app: Flask, deploy: Callable[..., DefinitionOut],
                                                     h: Headers, run_jobs_http: Callable[..., int]) -> None:
    deploy("sample_review")
    for _round in range(5):
        instance_id, tasks = _start(app, h)
        statuses = _concurrently([_complete(app, tasks["review_land"], h("a")),
                                  _complete(app, tasks["review_fire"], h("b")),
                                  _complete(app, tasks["review_design"], h("c"))])
        assert statuses == [200, 200, 200]
        assert run_jobs_http() == 1  # all approved: the permit is issued by a worker (issue 3)
        instance = app.test_client().get(f"/api/process-instances/{instance_id}", headers=h("auditor")).get_json()
        assert instance["status"] == "completed"


def test_completing_a_cancelled_task_is_409_and_changes_nothing(app: Flask, deploy: Callable[..., DefinitionOut],
                                                                h: Headers) -> None:
    deploy("sample_review")
    instance_id, tasks = _start(app, h)
    client = app.test_client()
    assert client.post(f"/api/process-instances/{instance_id}/terminate", json={"reason": "撤回"},
                       headers=h("admin")).status_code == 200
    state = engine_state(app)
    with state.sessions() as session:
        before = session.get(ProcessInstance, instance_id)
        snapshot = (before.lock_version, before.state_json, before.status)
    events_url = f"/api/history/process-instances/{instance_id}/events?limit=200"
    events_before = client.get(events_url, headers=h("auditor")).get_json()
    response = client.post(f"/api/tasks/{tasks['review_land']}/complete", json=BODY, headers=h("a"))
    assert response.status_code == 409
    assert response.get_json()["type"] == "/problems/task-already-completed"
    with state.sessions() as session:
        after = session.get(ProcessInstance, instance_id)
        assert (after.lock_version, after.state_json, after.status) == snapshot
    assert client.get(events_url, headers=h("auditor")).get_json() == events_before


def test_claimed_task_cannot_be_completed_or_claimed_by_another(app: Flask, deploy: Callable[..., DefinitionOut],
                                                                h: Headers) -> None:
    deploy("sample_review")
    _instance_id, tasks = _start(app, h)
    client = app.test_client()
    task_id = tasks["review_fire"]
    assert client.post(f"/api/tasks/{task_id}/claim", headers=h("zhao")).status_code == 200
    assert client.post(f"/api/tasks/{task_id}/claim", headers=h("qian")).status_code == 409
    assert client.post(f"/api/tasks/{task_id}/complete", json=BODY, headers=h("qian")).status_code == 409
    assert client.post(f"/api/tasks/{task_id}/unclaim", headers=h("zhao")).status_code == 200
    assert client.post(f"/api/tasks/{task_id}/complete", json=BODY, headers=h("qian")).status_code == 200
