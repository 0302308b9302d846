"""Versions and migration (issue 11): running instances stay on their version; the dry run and the migration move
the movable ones with data and due times intact; replay --verify passes on migrated instances.

tests/data/migration/migration_demo_v1.bpmn → v2: the land review's limit 5 → 8 WD, a fee check after the permit,
`review_final` renamed `final_review`, the deemed path's script `record_deemed_land` replaced by `record_deemed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from engine.bpmn import timer_ops
from engine.bpmn.serialization import load_workflow
from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from engine.errors import DefinitionNotFound, InstanceNotRunning, InvalidInput, MigrationRefused
from engine.models import HumanTask, InstanceEvent, ProcessDefinition, ProcessInstance, ServiceJob, Timer
from engine.services import history, instance_migration, timers
from engine.services.commands import run_command
from engine.services.replay import Replayer
from tests.audit_support import APPROVE, complete, start
from tests.conftest import DATA, engine_state

V1 = DATA / "migration" / "migration_demo_v1.bpmn"
V2 = DATA / "migration" / "migration_demo_v2.bpmn"
RENAME = {"review_final": "final_review"}


@dataclass
class Portfolio:
    at_review: str  # review_land open, its deemed timer and the stage cap waiting
    at_job: str  # review_land done, the permit job open
    at_final: str  # permit issued, review_final open
    deemed_at_final: str  # review_land deemed by its timer (record_deemed_land ran), review_final open
    finishing: str  # like at_final; finishes on v1 after v2 is deployed


def _open(app: Flask, instance_id: str) -> list[str]:
    with engine_state(app).sessions() as session:
        return sorted(t.bpmn_id for t in session.scalars(select(HumanTask).where(
            HumanTask.instance_id == instance_id, HumanTask.status == "open")))


def _waiting_timers(app: Flask, instance_id: str) -> dict[str, datetime | None]:
    with engine_state(app).sessions() as session:
        return {t.bpmn_id: t.due_at for t in session.scalars(select(Timer).where(
            Timer.instance_id == instance_id, Timer.status == "waiting"))}


def _spiff_dues(app: Flask, instance_id: str) -> dict[str, datetime | None]:
    """Due times as the Spiff state holds them (the authority; the timer rows mirror it)."""
    state = engine_state(app)
    with state.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        parsed = state.ctx.specs.get(session.get(ProcessDefinition, instance.definition_id))
        workflow = load_workflow(instance.state_json, parsed.spec, parsed.subprocess_specs)
    return {t.bpmn_id: t.due_at for t in timer_ops.waiting_timers(workflow)}


def _version(app: Flask, instance_id: str) -> int:
    with engine_state(app).sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return session.get(ProcessDefinition, instance.definition_id).version


def _status(app: Flask, instance_id: str) -> str:
    with engine_state(app).sessions() as session:
        return session.get(ProcessInstance, instance_id).status


def _event_count(app: Flask) -> int:
    with engine_state(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(InstanceEvent))


def _fire(app: Flask) -> None:
    state = engine_state(app)
    timers.fire_due(state.sessions, state.ctx, state.clock.now())


@pytest.fixture
def portfolio(app: Flask, deploy: Callable[..., DefinitionOut], clock: SimulatedClock,
              run_jobs: Callable[..., int]) -> Portfolio:
    """Instances mid-way on v1, then v2 deployed."""
    assert deploy(V1).version == 1
    deemed = start(app, "migration_demo", business_key="M-4")
    clock.advance(timedelta(days=8))  # past the 5th working day: its deemed-approval timer fires
    _fire(app)
    at_final = start(app, "migration_demo", business_key="M-3")
    finishing = start(app, "migration_demo", business_key="M-5")
    for instance_id in (at_final, finishing):
        complete(app, instance_id, "review_land", APPROVE)
    assert run_jobs() == 3  # permits for deemed, at_final, finishing
    at_job = start(app, "migration_demo", business_key="M-2")
    complete(app, at_job, "review_land", APPROVE)
    clock.advance(timedelta(hours=2))
    at_review = start(app, "migration_demo", business_key="M-1")
    assert deploy(V2).version == 2
    return Portfolio(at_review, at_job, at_final, deemed, finishing)


def test_new_instances_use_the_latest_version_and_running_ones_finish_on_theirs(
        app: Flask, portfolio: Portfolio) -> None:
    fresh = start(app, "migration_demo", business_key="M-6")
    assert _version(app, fresh) == 2
    assert _version(app, portfolio.finishing) == 1
    complete(app, portfolio.finishing, "review_final", APPROVE)
    assert _status(app, portfolio.finishing) == "completed"
    with engine_state(app).sessions() as session:
        reached = {el for e in history.list_events(session, portfolio.finishing) if e.kind == "instance:advanced"
                   for el in e.payload["elements"]}
    assert "check_fee" not in reached and "end_done" in reached


def test_dry_run_lists_who_can_move_and_changes_nothing(app: Flask, portfolio: Portfolio) -> None:
    state = engine_state(app)
    before = _event_count(app)
    plans = {p.instance_id: p for p in instance_migration.migrate_all(
        state.sessions, state.ctx, "migration_demo", from_version=1, to_version=2, id_map={}, actor="designer",
        now=state.clock.now(), dry_run=True)}
    assert set(plans) == {portfolio.at_review, portfolio.at_job, portfolio.at_final, portfolio.deemed_at_final,
                          portfolio.finishing}
    review = plans[portfolio.at_review]
    assert review.movable and not review.migrated
    due = {m["to"]: m["due_at"] for m in review.moved}
    assert set(due) == {"stage_review", "review_land", "deemed_land", "cap_stage"}
    assert due["deemed_land"] == "2026-03-17T15:59:59.000000Z"  # 5 WD from 03-10, not the new 8
    assert {c["id"] for c in review.changed} == {"review_land", "deemed_land"}
    assert plans[portfolio.at_job].movable
    final = plans[portfolio.at_final]
    assert not final.movable
    assert final.problems == [("review_final (open user task) has no element 'review_final' in v2: map it to an "
                               "element of v2")]
    assert _event_count(app) == before
    assert all(_version(app, i) == 1 for i in plans)

    mapped = {p.instance_id: p for p in instance_migration.migrate_all(
        state.sessions, state.ctx, "migration_demo", from_version=1, to_version=2, id_map=RENAME, actor="designer",
        now=state.clock.now(), dry_run=True)}
    assert all(p.movable for p in mapped.values())
    assert mapped[portfolio.deemed_at_final].dropped == ["record_deemed_land"]
    assert mapped[portfolio.at_final].moved == [{"from": "review_final", "to": "final_review", "state": "ready",
                                                 "due_at": None}]
    assert _event_count(app) == before


def test_migration_moves_instances_with_due_times_and_replay_verifies(
        app: Flask, portfolio: Portfolio, clock: SimulatedClock, run_jobs: Callable[..., int]) -> None:
    state = engine_state(app)
    dues = _waiting_timers(app, portfolio.at_review)
    spiff_dues = _spiff_dues(app, portfolio.at_review)
    assert dues == spiff_dues and set(dues) == {"deemed_land", "cap_stage"}
    plans = instance_migration.migrate_all(state.sessions, state.ctx, "migration_demo", from_version=1,
                                           to_version=2, id_map=RENAME, actor="designer", now=clock.now(),
                                           dry_run=False)
    assert [p.migrated for p in plans] == [True] * 5
    for instance_id in (portfolio.at_review, portfolio.at_job, portfolio.at_final, portfolio.deemed_at_final):
        assert _version(app, instance_id) == 2
    # Due times intact, in the rows and in the Spiff state.
    assert _waiting_timers(app, portfolio.at_review) == dues
    assert _spiff_dues(app, portfolio.at_review) == dues
    # Rows follow the renamed element; the history says who moved what.
    assert _open(app, portfolio.at_final) == ["final_review"]
    with state.sessions() as session:
        event = session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == portfolio.at_final,
                                                            InstanceEvent.kind == "instance:migrated")).one()
        job = session.scalars(select(ServiceJob).where(ServiceJob.instance_id == portfolio.at_job)).one()
    assert event.actor == "designer"
    assert event.payload["from_version"] == 1 and event.payload["to_version"] == 2
    assert event.payload["map"] == RENAME
    assert job.status == "available" and job.bpmn_id == "issue_permit"

    # They go on along v2: the permit now leads to the fee check; the old due time fires the deemed path.
    assert run_jobs() == 1
    assert _open(app, portfolio.at_job) == ["check_fee"]
    complete(app, portfolio.at_final, "final_review", APPROVE)
    complete(app, portfolio.deemed_at_final, "final_review", APPROVE)
    clock.set(dues["deemed_land"] + timedelta(seconds=1))
    _fire(app)
    with state.sessions() as session:
        reached = {el for e in history.list_events(session, portfolio.at_review) if e.kind == "instance:advanced"
                   for el in e.payload["elements"]}
    assert "record_deemed" in reached and "record_deemed_land" not in reached
    assert _status(app, portfolio.at_final) == "completed"
    assert _status(app, portfolio.deemed_at_final) == "completed"

    with state.sessions() as session, Replayer(session, state.ctx) as replayer:
        reports = list(replayer.replay_all(verify=True, key="migration_demo"))
    assert len(reports) == 5
    assert [(r.instance_id, r.difference) for r in reports if not r.ok] == []
    assert all(r.state_verified for r in reports)


def test_migrating_one_instance_is_a_command_with_clear_refusals(app: Flask, portfolio: Portfolio,
                                                                  clock: SimulatedClock) -> None:
    state = engine_state(app)
    before = _event_count(app)

    def migrate(instance_id: str, **kwargs: object) -> instance_migration.InstancePlan:
        args = {"to_version": 2, "id_map": {}, "actor": "designer", "now": clock.now(), **kwargs}
        return run_command(state.sessions, lambda s: instance_migration.migrate_instance(
            s, state.ctx, instance_id, **args))

    with pytest.raises(MigrationRefused) as refused:
        migrate(portfolio.at_final)
    assert "review_final (open user task)" in refused.value.detail
    with pytest.raises(InvalidInput, match="not an element of the version migrated from"):
        migrate(portfolio.at_final, id_map={"no_such_task": "final_review"})
    with pytest.raises(InvalidInput, match="not an element of the version migrated to"):
        migrate(portfolio.at_final, id_map={"review_final": "nowhere"})
    with pytest.raises(DefinitionNotFound):
        migrate(portfolio.at_final, to_version=7)
    with pytest.raises(InvalidInput, match="already on migration_demo v1"):
        migrate(portfolio.at_final, to_version=1)
    assert _event_count(app) == before and _version(app, portfolio.at_final) == 1

    complete(app, portfolio.finishing, "review_final", APPROVE)
    with pytest.raises(InstanceNotRunning):
        migrate(portfolio.finishing, id_map=RENAME)
    plan = migrate(portfolio.at_final, id_map=RENAME)
    assert plan.migrated and _version(app, portfolio.at_final) == 2
    with pytest.raises(InvalidInput, match="already on migration_demo v2"):
        migrate(portfolio.at_final, id_map=RENAME)
    with pytest.raises(MigrationRefused, match="is on migration_demo v1, not v3"):
        migrate(portfolio.at_review, from_version=3)


def test_a_bad_map_file_is_refused() -> None:
    assert instance_migration.read_map('review_final = "final_review"') == RENAME
    assert instance_migration.read_map('[map]\nreview_final = "final_review"') == RENAME
    with pytest.raises(InvalidInput, match="not TOML"):
        instance_migration.read_map("review_final = ")
    with pytest.raises(InvalidInput, match="must map to an element id string"):
        instance_migration.read_map("review_final = 3")


def test_a_boundary_event_added_to_an_open_task_is_noted(app: Flask, deploy: Callable[..., DefinitionOut],
                                                         run_jobs: Callable[..., int], tmp_path: Path) -> None:
    """v2 adds a reminder timer to the final check: the open check keeps running without it, and the plan says so."""
    deploy(V1)
    at_final = start(app, "migration_demo", business_key="N-1")
    complete(app, at_final, "review_land", APPROVE)
    run_jobs()
    reminder = ('<bpmn:boundaryEvent id="remind_final" cancelActivity="false" attachedToRef="review_final">'
                '<bpmn:outgoing>flow_remind</bpmn:outgoing><bpmn:timerEventDefinition>'
                '<bpmn:timeDuration>P3D</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>'
                '<bpmn:endEvent id="end_reminded"><bpmn:incoming>flow_remind</bpmn:incoming></bpmn:endEvent>'
                '<bpmn:sequenceFlow id="flow_remind" sourceRef="remind_final" targetRef="end_reminded" />')
    v2 = tmp_path / "migration_demo.bpmn"
    v2.write_text(V1.read_text(encoding="utf-8").replace("</bpmn:process>", reminder + "</bpmn:process>"),
                  encoding="utf-8")
    deploy(v2)
    state = engine_state(app)
    [plan] = instance_migration.migrate_all(state.sessions, state.ctx, "migration_demo", from_version=1,
                                            to_version=2, id_map={}, actor="designer", now=state.clock.now(),
                                            dry_run=True)
    assert plan.movable
    assert plan.notes == [("review_final: v2 attaches remind_final; it applies when review_final starts again, "
                           "not to the one open now")]
