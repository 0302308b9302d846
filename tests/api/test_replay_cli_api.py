"""`approvals replay` and GET …/replay over a generated set of instances (issue 10 acceptance)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.dto import DefinitionOut
from engine.models import ProcessInstance
from engine.services import history, instances, jobs, timers
from engine.services.commands import run_command
from engine.services.jobs import TopicRequest
from tests.audit_support import APPROVE, REJECT, cli_config, complete, run_cli, start
from tests.conftest import DATA, Auth, engine_state


def generate_portfolio(app: Flask, deploy: Callable[..., DefinitionOut], clock: SimulatedClock,
                       seed: int = 7) -> list[str]:
    """A mixed set of instances in every state: finished either way, mid-way, suspended, terminated,
    paused and deemed by a timer, and with worker results, failures and BPMN errors."""
    rng = random.Random(seed)
    state = engine_state(app)
    deploy("sample_review")
    deploy(DATA / "bpmn" / "timer_pause.bpmn")
    deploy(DATA / "bpmn" / "error_routing.bpmn")
    ids = []
    for n in range(6):
        instance_id = start(app, "sample_review", {"project": f"项目{n}"}, business_key=f"P-{n}")
        ids.append(instance_id)
        reviews = ["review_land", "review_design", "review_fire"][: 1 + n % 3 + (1 if n > 2 else 0)]
        for bpmn_id in reviews:
            clock.advance(timedelta(hours=rng.randint(1, 30)))
            complete(app, instance_id, bpmn_id, REJECT if rng.random() < 0.3 else APPROVE, actor=f"clerk{n}")
    if _running(app, ids[0]):
        run_command(state.sessions, lambda s: instances.set_suspended(s, state.ctx, ids[0], True, actor="admin",
                                                                      now=clock.now(), reason="补正材料"))
    if _running(app, ids[1]):
        run_command(state.sessions, lambda s: instances.terminate(s, state.ctx, ids[1], actor="admin",
                                                                  now=clock.now(), reason="申请人撤回"))
    for n in range(2):
        instance_id = start(app, "timer_pause", {"limit": 3 + n}, business_key=f"T-{n}")
        ids.append(instance_id)
        clock.advance(timedelta(days=2))
        complete(app, instance_id, "supplement", {})
    clock.advance(timedelta(days=15))
    timers.fire_due(state.sessions, state.ctx, clock.now())
    routing = start(app, "error_routing", {}, business_key="E-1")
    ids.append(routing)
    claimed = run_command(state.sessions, lambda s: jobs.claim(
        s, state.ctx, [TopicRequest("check.applicant", timedelta(minutes=5))], worker="w", max_jobs=10,
        now=clock.now()))
    for i, job in enumerate(claimed):
        if i % 3 == 0:
            run_command(state.sessions, lambda s, j=job: jobs.complete(s, state.ctx, j.id, {"ok": True}, worker="w",
                                                                        actor="worker:w", now=clock.now()))
        elif i % 3 == 1:
            run_command(state.sessions, lambda s, j=job: jobs.bpmn_error(s, state.ctx, j.id, "blacklisted",
                                                                          worker="w", actor="worker:w",
                                                                          now=clock.now()))
        else:
            run_command(state.sessions, lambda s, j=job: jobs.fail(s, state.ctx, j.id, worker="w", actor="worker:w",
                                                                    now=clock.now(), error_message="网络超时",
                                                                    retries=0))
    return ids


def _running(app: Flask, instance_id: str) -> bool:
    with engine_state(app).sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        return instance is not None and instance.status == "running"


def test_replay_all_verify_passes_then_names_a_tampered_instance(app: Flask, settings: Settings,
                                                                 deploy: Callable[..., DefinitionOut],
                                                                 clock: SimulatedClock, tmp_path: Path) -> None:
    ids = generate_portfolio(app, deploy, clock)
    config = cli_config(settings, tmp_path)
    result = run_cli(config, "replay", "--all", "--verify")
    assert result.exit_code == 0, result.output
    assert f"{len(ids)} instances verified, 0 differ" in result.output
    assert result.output.count("ok    ") == len(ids)

    victim = ids[3]
    with engine_state(app).sessions.begin() as session:
        instance = session.get(ProcessInstance, victim)
        assert instance is not None
        # The state is stored in ASCII: the name is written as json.dumps writes it (\u escapes).
        tampered = instance.state_json.replace(f'"project":{json.dumps("项目3")}', f'"project":{json.dumps("项目X")}')
        assert tampered != instance.state_json
        instance.state_json = tampered
    result = run_cli(config, "replay", "--all", "--verify")
    assert result.exit_code == 1
    assert f"FAIL  {victim}" in result.output and "项目X" in result.output
    assert "1 differ" in result.output
    single = run_cli(config, "replay", victim, "--verify", "--format", "json")
    assert single.exit_code == 1
    body = json.loads(single.stdout)
    assert body["ok"] is False and body["difference"]["seq"] is None


def test_replay_cli_as_of_and_usage(app: Flask, settings: Settings, deploy: Callable[..., DefinitionOut],
                                    clock: SimulatedClock, tmp_path: Path) -> None:
    deploy("sample_review")
    instance_id = start(app, "sample_review", {"project": "示范"})
    clock.advance(timedelta(hours=2))
    complete(app, instance_id, "review_land", APPROVE)
    config = cli_config(settings, tmp_path)
    first_command_end = max(e.seq for e in _events(app, instance_id) if e.actor == "window")
    result = run_cli(config, "replay", instance_id, "--until", str(first_command_end))
    assert result.exit_code == 0, result.output
    assert result.output.count("open task") == 3 and "review_land" in result.output
    now = run_cli(config, "replay", instance_id)
    assert now.output.count("open task") == 2 and "review_land" not in now.output.split("as of")[1]
    assert run_cli(config, "replay").exit_code == 2
    assert run_cli(config, "replay", instance_id, "--all").exit_code == 2
    assert run_cli(config, "replay", "--all", "--until", "3").exit_code == 2
    bad = run_cli(config, "replay", instance_id, "--until", "999")
    assert bad.exit_code == 1 and "between 1 and" in bad.output


def _events(app: Flask, instance_id: str) -> list:
    with engine_state(app).sessions() as session:
        return list(history.list_events(session, instance_id))


def test_replay_api_and_as_of_diagram(app: Flask, client: FlaskClient, auth: Auth,
                                      deploy: Callable[..., DefinitionOut], clock: SimulatedClock) -> None:
    deploy("sample_review")
    instance_id = start(app, "sample_review", {"project": "示范"})
    for bpmn_id in ("review_land", "review_design"):
        clock.advance(timedelta(hours=2))
        complete(app, instance_id, bpmn_id, APPROVE)
    auditor = auth.headers("audrey", "auditor")
    events = _events(app, instance_id)
    cut = next(e.seq for e in events if e.kind == "task:completed")
    body = client.get(f"/api/process-instances/{instance_id}/replay?until={cut}", headers=auditor).get_json()
    assert body["ok"] is True and body["until"] == cut
    assert sorted(t["bpmn_id"] for t in body["as_of"]["open_tasks"]) == ["review_design", "review_fire"]
    recorded_ids = {e.payload["task_id"] for e in events if e.kind == "task:created"}
    assert {t["id"] for t in body["as_of"]["open_tasks"]} <= recorded_ids, "as-of tasks carry the real ids"
    full = client.get(f"/api/process-instances/{instance_id}/replay?verify=true", headers=auditor).get_json()
    assert full["ok"] is True and full["state_verified"] is True

    svg = client.get(f"/api/process-instances/{instance_id}/diagram.svg?until={cut}", headers=auditor)
    assert svg.status_code == 200
    root = etree.fromstring(svg.data)
    state = {g.get("data-element-id"): g.get("data-state") or "" for g in root.iter("{http://www.w3.org/2000/svg}g")
             if g.get("data-element-id")}
    assert "completed" in state["review_land"] and state["review_design"] == "active"

    bad = client.get(f"/api/process-instances/{instance_id}/replay?until=abc", headers=auditor)
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    clerk = auth.headers("li.nrp", "clerk", departments=["nrp"])
    assert client.get(f"/api/process-instances/{instance_id}/replay", headers=clerk).status_code == 403
    verify = client.get("/api/audit/verify", headers=auditor).get_json()
    assert verify == {"ok": True, "problems": []}
