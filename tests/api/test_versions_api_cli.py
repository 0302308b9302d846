"""Version diffs and migration through the JSON API and the CLI (issue 11), with their roles and bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.config import Settings
from engine.dto import DefinitionOut
from engine.models import InstanceEvent, ProcessDefinition, ProcessInstance
from tests.audit_support import APPROVE, cli_config, complete, run_cli, start
from tests.conftest import DATA, Auth, engine_state

V1 = DATA / "migration" / "migration_demo_v1.bpmn"
V2 = DATA / "migration" / "migration_demo_v2.bpmn"


def _two_versions(app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> dict[str, str]:
    deploy(V1)
    at_review = start(app, "migration_demo", business_key="A-1")
    at_final = start(app, "migration_demo", business_key="A-2")
    complete(app, at_final, "review_land", APPROVE)
    run_jobs()
    deploy(V2)
    return {"at_review": at_review, "at_final": at_final}


def _versions(app: Flask) -> dict[str, int]:
    with engine_state(app).sessions() as session:
        rows = session.execute(select(ProcessInstance.business_key, ProcessDefinition.version)
                               .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)).all()
    return {key: version for key, version in rows}


def _events(app: Flask) -> int:
    with engine_state(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(InstanceEvent))


def test_diff_api_lists_what_changed_for_designers_and_auditors(
        app: Flask, client: FlaskClient, auth: Auth, deploy: Callable[..., DefinitionOut],
        run_jobs: Callable[..., int]) -> None:
    _two_versions(app, deploy, run_jobs)
    designer = auth.headers("d.li", "designer")
    response = client.get("/api/process-definitions/key/migration_demo/diff?from=1&to=2", headers=designer)
    assert response.status_code == 200
    body = response.get_json()
    assert [e["id"] for e in body["elements"]["added"]] == ["check_fee", "final_review", "record_deemed"]
    assert [e["id"] for e in body["elements"]["removed"]] == ["record_deemed_land", "review_final"]
    changed = {e["id"]: e["changes"] for e in body["elements"]["changed"]}
    assert changed["review_land"] == {"properties.limit_committed_wd": {"from": "5", "to": "8"}}
    assert changed["deemed_land"] == {"timer": {"from": "timeDuration=P5D", "to": "timeDuration=P8D"}}
    assert [f["id"] for f in body["flows"]["added"]] == ["flow_fee_final", "flow_permit_fee"]
    assert body["flows"]["removed"] == [{"id": "flow_permit_final", "source": "issue_permit",
                                         "target": "review_final", "name": None, "condition": None}]
    same = client.get("/api/process-definitions/key/migration_demo/diff?from=2&to=2", headers=designer)
    assert same.get_json()["unchanged"] is True
    auditor = client.get("/api/process-definitions/key/migration_demo/diff?from=1&to=2",
                         headers=auth.headers("a.wang", "auditor"))
    assert auditor.status_code == 200
    clerk = client.get("/api/process-definitions/key/migration_demo/diff?from=1&to=2",
                       headers=auth.headers("c.zhao", "clerk", departments=["nrp"]))
    assert clerk.status_code == 403
    bad = client.get("/api/process-definitions/key/migration_demo/diff?from=one&to=2", headers=designer)
    assert bad.status_code == 422 and bad.content_type == "application/problem+json"
    missing = client.get("/api/process-definitions/key/migration_demo/diff?from=1&to=9", headers=designer)
    assert missing.status_code == 404 and "has no version 9" in missing.get_json()["detail"]


def test_migration_api_dry_run_refusal_and_move(
        app: Flask, client: FlaskClient, auth: Auth, deploy: Callable[..., DefinitionOut],
        run_jobs: Callable[..., int]) -> None:
    ids = _two_versions(app, deploy, run_jobs)
    designer = auth.headers("d.li", "designer")
    clerk_headers = auth.headers("c.zhao", "clerk", departments=["window"])
    admin = auth.headers("root", "admin")
    before = _events(app)
    dry = client.post("/api/process-definitions/key/migration_demo/migrate",
                      json={"from": 1, "to": 2, "dryRun": True}, headers=designer)
    assert dry.status_code == 200
    items = {i["instance_id"]: i for i in dry.get_json()["items"]}
    assert items[ids["at_review"]]["movable"] is True
    assert items[ids["at_final"]]["movable"] is False
    assert "review_final (open user task)" in items[ids["at_final"]]["problems"][0]
    assert _events(app) == before

    refused = client.post(f"/api/process-instances/{ids['at_final']}/migrate", json={"to": 2}, headers=designer)
    assert refused.status_code == 409
    problem = refused.get_json()
    assert problem["type"] == "/problems/migration-refused" and len(problem["problems"]) == 1
    bad_map = client.post(f"/api/process-instances/{ids['at_final']}/migrate",
                          json={"to": 2, "map": {"review_final": 7}}, headers=designer)
    assert bad_map.status_code == 422
    clerk = client.post(f"/api/process-instances/{ids['at_final']}/migrate", json={"to": 2}, headers=clerk_headers)
    assert clerk.status_code == 403
    assert _events(app) == before and _versions(app) == {"A-1": 1, "A-2": 1}

    moved = client.post(f"/api/process-instances/{ids['at_final']}/migrate",
                        json={"to": 2, "from": 1, "map": {"review_final": "final_review"}},
                        headers=admin)
    assert moved.status_code == 200 and moved.get_json()["migrated"] is True
    everyone = client.post("/api/process-definitions/key/migration_demo/migrate",
                           json={"from": 1, "to": 2}, headers=designer)
    assert [i["migrated"] for i in everyone.get_json()["items"]] == [True]
    assert _versions(app) == {"A-1": 2, "A-2": 2}


def test_cli_diff_dry_run_migrate_and_replay(
        app: Flask, settings: Settings, tmp_path: Path, deploy: Callable[..., DefinitionOut],
        run_jobs: Callable[..., int]) -> None:
    _two_versions(app, deploy, run_jobs)
    config = cli_config(settings, tmp_path)
    listed = run_cli(config, "definitions", "list", "--key", "migration_demo")
    assert listed.exit_code == 0
    assert [line.split()[:2] for line in listed.output.splitlines()] == [["migration_demo", "v1"],
                                                                        ["migration_demo", "v2"]]
    assert "designer" in listed.output and "migration_demo_v2.bpmn" in listed.output
    diff = run_cli(config, "definitions", "diff", "migration_demo", "1", "2")
    assert diff.exit_code == 0
    assert "  + check_fee (userTask 核对规费)" in diff.output
    assert "  ~ review_land (userTask): properties.limit_committed_wd '5' -> '8'" in diff.output
    assert "  - flow_permit_final: issue_permit -> review_final" in diff.output

    dry = run_cli(config, "migrate", "migration_demo", "--from", "1", "--to", "2", "--dry-run")
    assert dry.exit_code == 1
    assert "(A-1) v1 -> v2: can move" in dry.output
    assert "(A-2) v1: cannot move" in dry.output
    assert "1 of 2 instance(s) can move, 1 cannot" in dry.output
    assert "waiting  deemed_land, due 2026-03-09T15:59:59.000000Z" in dry.output
    map_file = tmp_path / "map.toml"
    map_file.write_text('review_final = "final_review"\n', encoding="utf-8")
    moved = run_cli(config, "migrate", "migration_demo", "--from", "1", "--to", "2", "--map", str(map_file),
                    "--as", "d.li")
    assert moved.exit_code == 0, moved.output
    assert "2 of 2 instance(s) moved" in moved.output
    assert "ready    review_final -> final_review" in moved.output
    assert _versions(app) == {"A-1": 2, "A-2": 2}
    replay = run_cli(config, "replay", "--all", "--verify")
    assert replay.exit_code == 0, replay.output

    bad_map = tmp_path / "bad.toml"
    bad_map.write_text("review_final = [", encoding="utf-8")
    refused = run_cli(config, "migrate", "migration_demo", "--from", "1", "--to", "2", "--map", str(bad_map))
    assert refused.exit_code == 1 and "not TOML" in refused.output
    unknown = run_cli(config, "definitions", "diff", "migration_demo", "1", "5")
    assert unknown.exit_code == 1 and "migration_demo has no version 5" in unknown.output
