"""The engine-core slice through the HTTP API only: deploy -> start -> three reviews -> end -> history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import create_app
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.services import history
from tests.conftest import ROOT, Auth, engine_state

REVIEWS = {"review_land", "review_design", "review_fire"}
# Everyone who acts here, with their role and departments (tokens from the `auth` fixture).
PEOPLE = {"designer": ("designer", ()), "window-clerk": ("clerk", ("window",)), "li.nrp": ("clerk", ("nrp",)),
          "wang.nrp": ("clerk", ("nrp",)), "zhao.hc": ("clerk", ("hc",)), "auditor": ("auditor", ()),
          "w": ("clerk", ("window",)), "li": ("clerk", ("nrp",))}
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def _headers(auth: Auth) -> Headers:
    def headers(actor: str) -> dict[str, str]:
        role, departments = PEOPLE[actor]
        return auth.headers(actor, role, departments=departments)

    return headers


def _deploy(client: FlaskClient, _headers: Headers) -> dict:
    path = ROOT / "processes" / "sample_review.bpmn"
    with path.open("rb") as fh:
        response = client.post("/api/process-definitions", data={"file": (fh, path.name)},
                               headers=_headers("designer"), content_type="multipart/form-data")
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def _run(client_for_step: Callable[[], FlaskClient], clock: SimulatedClock, decisions: dict[str, str],
         _headers: Headers, run_worker: Callable[[], int]) -> dict:
    reader = _headers("auditor")
    definition = _deploy(client_for_step(), _headers)
    assert definition["key"] == "sample_review"
    response = client_for_step().post("/api/process-definitions/key/sample_review/start",
                                      json={"variables": {"project": "呼和浩特示范项目"}, "businessKey": "P-1"},
                                      headers=_headers("window-clerk"))
    assert response.status_code == 201, response.get_json()
    instance_id = response.get_json()["id"]
    tasks = client_for_step().get(f"/api/tasks?processInstanceId={instance_id}", headers=reader).get_json()["items"]
    assert {t["bpmn_id"] for t in tasks} == REVIEWS
    by_bpmn = {t["bpmn_id"]: t for t in tasks}
    assert by_bpmn["review_fire"]["candidate_groups"] == ["hc"]
    assert by_bpmn["review_land"]["candidate_groups"] == ["nrp"]
    actors = {"review_land": "li.nrp", "review_design": "wang.nrp", "review_fire": "zhao.hc"}
    for bpmn_id in ("review_land", "review_design", "review_fire"):
        clock.advance(__import__("datetime").timedelta(hours=3))
        task_id = by_bpmn[bpmn_id]["id"]
        detail = client_for_step().get(f"/api/tasks/{task_id}", headers=reader).get_json()
        assert detail["form_schema"]["properties"]["decision"]["enum"] == ["approve", "reject"]
        response = client_for_step().post(f"/api/tasks/{task_id}/complete", headers=_headers(actors[bpmn_id]),
                                          json={"variables": {"decision": decisions[bpmn_id],
                                                              "opinion": "符合要求" if decisions[bpmn_id] == "approve"
                                                              else "不符合规划条件"}})
        assert response.status_code == 200, response.get_json()
    # All approved: the permit service task waits for a worker, which fetches and completes it over /api.
    assert run_worker() == (1 if set(decisions.values()) == {"approve"} else 0)
    instance = client_for_step().get(f"/api/process-instances/{instance_id}", headers=reader).get_json()
    events = client_for_step().get(f"/api/history/process-instances/{instance_id}/events?limit=200",
                                   headers=reader).get_json()
    return {"instance": instance, "events": events["items"], "actors": actors}


@pytest.mark.parametrize("decisions, end", [
    ({"review_land": "approve", "review_design": "approve", "review_fire": "approve"}, "end_approved"),
    ({"review_land": "approve", "review_design": "reject", "review_fire": "approve"}, "end_rejected"),
])
def test_sample_runs_to_the_branch_its_data_selects(app: Flask, client: FlaskClient, clock: SimulatedClock,
                                                      decisions: dict[str, str], end: str, _headers: Headers,
                                                      run_jobs_http: Callable[..., int]) -> None:
    result = _run(lambda: client, clock, decisions, _headers, run_jobs_http)
    _assert_finished(app, result, end)


def test_same_result_with_a_new_app_object_between_every_step(app: Flask, settings: Settings,
                                                              clock: SimulatedClock, _headers: Headers,
                                                              run_jobs_http: Callable[..., int]) -> None:
    apps: list[Flask] = []

    def fresh_client() -> FlaskClient:
        new_app = create_app(settings, clock=clock)  # same database file, nothing shared in memory
        apps.append(new_app)
        return new_app.test_client()

    decisions = {"review_land": "approve", "review_design": "approve", "review_fire": "approve"}
    result = _run(fresh_client, clock, decisions, _headers, run_jobs_http)
    assert len(apps) > 10
    _assert_finished(app, result, "end_approved")
    for a in apps:
        engine_state(a).db_engine.dispose()


def _assert_finished(app: Flask, result: dict, end: str) -> None:
    instance, events, actors = result["instance"], result["events"], result["actors"]
    assert instance["status"] == "completed"
    assert instance["ended_at"] is not None
    advanced = [e for e in events if e["kind"] == "instance:advanced"]
    reached = {element for e in advanced for element in e["payload"]["elements"]}
    other = {"end_approved", "end_rejected"} - {end}
    assert end in reached and not (other & reached)
    completed = [e for e in events if e["kind"] == "task:completed"]
    assert {e["payload"]["bpmn_id"]: e["actor"] for e in completed} == actors
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(e["at"].endswith("Z") for e in events)
    kinds = [e["kind"] for e in events]
    assert kinds[0] == "instance:started" and kinds[-1] == "instance:completed"
    assert kinds.count("task:created") == 3
    if end == "end_approved":
        assert "issue_permit" in reached
        assert kinds.count("job:created") == kinds.count("job:completed") == 1
        assert instance["variables"]["permit"]["permit_no"].startswith("呼建许-")
    else:
        assert "job:created" not in kinds
    state = engine_state(app)
    with state.sessions() as session:
        assert history.verify_all(session, state.ctx.hmac_key) == []


def test_deploy_twice_with_unchanged_bytes_keeps_the_version(client: FlaskClient, _headers: Headers) -> None:
    first, second = _deploy(client, _headers), _deploy(client, _headers)
    assert (first["version"], second["version"]) == (1, 1)
    assert second["unchanged"] is True


def test_mutations_need_an_actor(client: FlaskClient) -> None:
    response = client.post("/api/process-definitions/key/sample_review/start", json={})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_unknown_things_are_404_problems(client: FlaskClient, _headers: Headers) -> None:
    for url in ("/api/tasks/nope", "/api/process-instances/nope", "/api/history/process-instances/nope/events"):
        response = client.get(url, headers=_headers("auditor"))
        assert response.status_code == 404
        assert response.get_json()["type"].startswith("/problems/")


def test_invalid_form_data_gets_chinese_field_messages_and_changes_nothing(client: FlaskClient,
                                                                           _headers: Headers) -> None:
    _deploy(client, _headers)
    reader = _headers("auditor")
    instance_id = client.post("/api/process-definitions/key/sample_review/start", json={},
                              headers=_headers("w")).get_json()["id"]
    task = client.get(f"/api/tasks?processInstanceId={instance_id}&candidateGroup=nrp",
                      headers=reader).get_json()["items"][0]
    before = client.get(f"/api/history/process-instances/{instance_id}/events", headers=reader).get_json()["items"]
    response = client.post(f"/api/tasks/{task['id']}/complete", headers=_headers("li"),
                           json={"variables": {"decision": "maybe"}})
    assert response.status_code == 422
    problem = response.get_json()
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert fields["opinion"] == "审查意见：此项为必填项"
    assert fields["decision"].startswith("审查结论：取值必须是以下之一")
    after = client.get(f"/api/history/process-instances/{instance_id}/events", headers=reader).get_json()["items"]
    assert after == before
    assert client.get(f"/api/tasks/{task['id']}", headers=reader).get_json()["status"] == "open"
