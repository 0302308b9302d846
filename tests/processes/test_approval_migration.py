"""Migration on the real approval process (issue 11 acceptance): projects mid-way through commercial_project v1 when
v2 is deployed stay on v1 and finish there; the dry run and the migration move the others with every waiting
timer's due time intact (nested subprocesses, parallel reviews, caps, a running job); replay --verify passes.

v2 gives the water department 12 working days for its design opinion instead of 10 and renames the planning
permit's certificate task (`issue_planning_permit` -> `issue_planning_certificate`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.clock import SimulatedClock
from engine.models import InstanceEvent, ProcessDefinition, ProcessInstance, Timer
from engine.services import deployments, instance_migration
from engine.services.commands import run_command
from engine.services.history import format_at
from engine.services.replay import Replayer
from tests.conftest import ROOT
from tests.processes.approval_support import Approval

KEY = "commercial_project"
RENAME = {"issue_planning_permit": "issue_planning_certificate"}


def _v2() -> bytes:
    text = (ROOT / "processes" / f"{KEY}.bpmn").read_text(encoding="utf-8")
    water = text.index('id="review_design_water"')
    text = text[:water] + text[water:].replace('name="limit_committed_wd" value="10"',
                                                 'name="limit_committed_wd" value="12"', 1)
    timer = text.index('id="deadline_design_water"')
    text = text[:timer] + re.sub(r"<bpmn:timeDuration>P10D</bpmn:timeDuration>",
                                 "<bpmn:timeDuration>P12D</bpmn:timeDuration>", text[timer:], count=1)
    return text.replace("issue_planning_permit", "issue_planning_certificate").encode("utf-8")


def _dues(world: Approval, instance_id: str) -> dict[str, datetime | None]:
    with world.state.sessions() as session:
        return {t.bpmn_id: t.due_at for t in session.scalars(select(Timer).where(
            Timer.instance_id == instance_id, Timer.status == "waiting"))}


def _version(world: Approval, instance_id: str) -> int:
    with world.state.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        return session.get(ProcessDefinition, instance.definition_id).version


@pytest.fixture
def world(app: Flask, clock: SimulatedClock, deploy: Callable[..., Any]) -> Approval:
    return Approval(app, clock, deploy)


def test_projects_mid_way_move_to_v2_with_their_due_times_and_replay(world: Approval) -> None:
    staying = world.apply(KEY)
    world.finish(until="review_design")
    moving = world.apply(KEY, world.applicant(2))
    world.finish(until="review_design")  # stage 2: seven design opinions and the gates open, caps waiting
    state = world.state
    v2 = run_command(state.sessions, lambda s: deployments.deploy_bytes(
        s, state.ctx, _v2(), f"{KEY}.bpmn", actor="designer", now=world.clock.now()))
    assert v2.version == 2
    before = _dues(world, moving)
    assert {"deadline_design_water", "cap_stage_2", "cap_overall"} <= set(before)

    plans = instance_migration.migrate_all(state.sessions, state.ctx, KEY, from_version=1, to_version=2,
                                           id_map=RENAME, actor="designer", now=world.clock.now(), dry_run=True)
    assert [(p.instance_id, p.movable) for p in plans] == [(staying, True), (moving, True)]
    water = next(m for m in plans[1].moved if m["to"] == "deadline_design_water")
    assert water["due_at"] is not None

    plan = run_command(state.sessions, lambda s: instance_migration.migrate_instance(
        s, state.ctx, moving, to_version=2, id_map=RENAME, actor="designer", now=world.clock.now(),
        from_version=1))
    assert plan.migrated
    assert _dues(world, moving) == before  # v1's 10-day water limit still decides this project
    assert (_version(world, staying), _version(world, moving)) == (1, 2)

    world.instance_id = staying
    world.finish()
    assert world.variables["approval_outcome"] == "permit" and "issue_planning_permit" in world.reached()
    world.instance_id = moving
    world.finish(silent=("review_design_water",))
    assert world.variables["approval_outcome"] == "permit"
    assert {"issue_planning_certificate", "deem_design_water"} <= world.reached()
    assert "issue_planning_permit" not in world.reached()
    with state.sessions() as session:
        fired = session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == moving,
                                                            InstanceEvent.kind == "timer:fired")).all()
    water_fired = next(e for e in fired if e.payload["bpmn_id"] == "deadline_design_water")
    assert water_fired.payload["due_at"] == format_at(before["deadline_design_water"])  # deemed on v1's day 10

    with state.sessions() as session, Replayer(session, state.ctx) as replayer:
        reports = [replayer.replay(i, verify=True) for i in (staying, moving)]
    assert [(r.ok, r.state_verified) for r in reports] == [(True, True), (True, True)], \
        [r.difference for r in reports]
