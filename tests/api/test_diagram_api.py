"""Instance and definition diagrams over the API and the CLI, highlighted from a real run's history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from engine.clock import SimulatedClock
from engine.config import Settings
from engine.dto import DefinitionOut
from engine.services import human_tasks, instances
from engine.services.commands import run_command
from tests.audit_support import cli_config, run_cli
from tests.conftest import DATA, Auth, engine_state

SVG = "http://www.w3.org/2000/svg"
APPROVE = {"decision": "approve", "opinion": "同意"}


def _states(svg: bytes) -> dict[str, set[str]]:
    root = etree.fromstring(svg)
    return {g.get("data-element-id"): set((g.get("data-state") or "").split())
            for g in root.iter(f"{{{SVG}}}g") if g.get("data-element-id")}


def _start(app: Flask, key: str, variables: dict | None = None) -> str:
    state = engine_state(app)
    out = run_command(state.sessions, lambda s: instances.start(s, state.ctx, key, variables or {}, actor="window",
                                                                now=state.clock.now(), business_key="P-7"))
    return out.id


def _complete(app: Flask, instance_id: str, bpmn_id: str, data: dict, actor: str = "clerk") -> None:
    state = engine_state(app)
    with state.sessions() as session:
        task = next(t for t in human_tasks.list_tasks(session, instance_id=instance_id) if t.bpmn_id == bpmn_id)
    run_command(state.sessions, lambda s: human_tasks.complete(s, state.ctx, task.id, data, actor=actor,
                                                               now=state.clock.now()))


def test_instance_diagram_marks_done_active_and_taken(app: Flask, client: FlaskClient, auth: Auth,
                                                      deploy: Callable[..., DefinitionOut],
                                                      clock: SimulatedClock) -> None:
    definition = deploy("sample_review")
    instance_id = _start(app, "sample_review", {"project": "示范项目"})
    for bpmn_id in ("review_land", "review_design"):
        clock.advance(timedelta(hours=2))
        _complete(app, instance_id, bpmn_id, APPROVE)
    auditor = auth.headers("audrey", "auditor")
    response = client.get(f"/api/process-instances/{instance_id}/diagram.svg", headers=auditor)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    states = _states(response.data)
    assert {"start", "split_reviews", "review_land", "review_design"} <= {k for k, v in states.items()
                                                                         if "completed" in v}
    assert states["review_fire"] == {"active"}
    assert states["join_reviews"] == set() and states["end_approved"] == set()
    taken = {k for k, v in states.items() if "taken" in v}
    # The join still waits for the fire review, yet the two finished reviews' flows into it were taken.
    assert taken == {"flow_start_split", "flow_split_land", "flow_split_design", "flow_split_fire",
                     "flow_land_join", "flow_design_join"}
    assert "并联审查示例" in response.get_data(as_text=True)

    bare = client.get(f"/api/process-definitions/{definition.id}/diagram.svg", headers=auditor)
    assert bare.status_code == 200
    assert all(not v for v in _states(bare.data).values())


def test_finished_instance_shows_the_branch_it_took(app: Flask, client: FlaskClient, auth: Auth,
                                                    deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    instance_id = _start(app, "sample_review")
    for bpmn_id in ("review_land", "review_design", "review_fire"):
        _complete(app, instance_id, bpmn_id, APPROVE if bpmn_id != "review_fire" else
                  {"decision": "reject", "opinion": "消防不合格"})
    states = _states(client.get(f"/api/process-instances/{instance_id}/diagram.svg",
                                headers=auth.headers("audrey", "auditor")).data)
    assert "completed" in states["end_rejected"] and not states["end_approved"]
    assert "taken" in states["flow_rejected"] and "taken" not in states["flow_approved"]


def test_corpus_process_runs_and_its_collapsed_subprocess_is_marked(app: Flask, client: FlaskClient,
                                                                    auth: Auth,
                                                                    deploy: Callable[..., DefinitionOut]) -> None:
    deploy(DATA / "diagrams" / "spiffarena.bpmn")
    instance_id = _start(app, "spiffarena_permit")
    auditor = auth.headers("audrey", "auditor")
    states = _states(client.get(f"/api/process-instances/{instance_id}/diagram.svg", headers=auditor).data)
    assert states["Activity_commit"] == {"active"}
    assert states["Activity_review"] == {"active"}, "the collapsed subprocess holding an open task is active"
    _complete(app, instance_id, "Activity_commit", {})
    states = _states(client.get(f"/api/process-instances/{instance_id}/diagram.svg", headers=auditor).data)
    assert "completed" in states["Activity_review"] and "completed" in states["Activity_prepare"]
    assert "taken" in states["Flow_1m2yt1b"] and "taken" not in states["Flow_0ulb5ch"]
    assert states["Activity_supplement"] == {"active"} and states["Event_overdue"] == {"active"}


def test_scoping_and_missing_things(app: Flask, client: FlaskClient, auth: Auth,
                                    deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    instance_id = _start(app, "sample_review")
    outsider = auth.headers("applicant.x", "applicant")
    assert client.get(f"/api/process-instances/{instance_id}/diagram.svg", headers=outsider).status_code == 403
    assert client.get(f"/api/process-instances/{instance_id}/diagram.svg").status_code == 401
    auditor = auth.headers("audrey", "auditor")
    missing = client.get("/api/process-instances/nope/diagram.svg", headers=auditor)
    assert missing.status_code == 404 and missing.content_type == "application/problem+json"
    assert client.get("/api/process-definitions/999/diagram.svg", headers=auditor).status_code == 404


def test_cli_diagram_writes_svg(app: Flask, settings: Settings, deploy: Callable[..., DefinitionOut],
                                tmp_path: Path) -> None:
    deploy("sample_review")
    instance_id = _start(app, "sample_review")
    config = cli_config(settings, tmp_path)
    out = tmp_path / "d.svg"
    result = run_cli(config, "diagram", "--instance", instance_id, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "active" in _states(out.read_bytes())["review_fire"]
    result = run_cli(config, "diagram")
    assert result.exit_code == 2 and "exactly one" in result.output
    result = run_cli(config, "diagram", "--instance", "nope")
    assert result.exit_code == 1 and "nope" in result.output
