"""What the crash campaign found, pinned single-process on the simulated clock (no sleeping).

1. A clerk completing a review after another timer of the instance was due, before the scheduler ticked: the
   completion steps the engine first (a passed deadline wins), which fired that timer and started a service
   task, but the job request of that first step was dropped, so no job row existed and the instance waited
   forever. Found on PostgreSQL with the scheduler killed.
2. Timers firing in one step were recorded in whatever order the database returned their rows, so replay
   (same commands, a small scratch database, another query plan) could write them in another order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from engine.clock import SimulatedClock
from engine.models import InstanceStatus, ServiceJobStatus, TimerStatus
from engine.services import human_tasks
from engine.services.commands import run_command
from engine.services.replay import Replayer
from tests.conftest import DATA
from tests.timers.conftest import Engine

APPROVE = {"decision": "approve", "opinion": "符合要求"}


@pytest.fixture
def engine(app: Flask, clock: SimulatedClock, deploy: Callable[..., Any]) -> Engine:
    deploy(DATA / "bpmn" / "crash_deadline.bpmn")
    return Engine(app, clock, deploy)


def _jobs(engine: Engine, instance_id: str) -> list[Any]:
    from sqlalchemy import select

    from engine.models import ServiceJob

    with engine.state.sessions() as s:
        return list(s.scalars(select(ServiceJob).where(ServiceJob.instance_id == instance_id)))


def _replays(engine: Engine, instance_id: str) -> bool:
    with engine.state.sessions() as s, Replayer(s, engine.state.ctx) as replayer:
        report = replayer.replay(instance_id, verify=True)
    assert report.ok, report.difference
    return report.ok


def test_a_completion_that_fires_a_due_timer_creates_the_job_that_timer_starts(engine: Engine,
                                                                                 run_jobs: Callable[..., int]) -> None:
    instance_id = engine.start("crash_deadline")
    cool_off = next(t for t in engine.timers(instance_id) if t.bpmn_id == "cool_off")
    (review,) = engine.tasks(instance_id)
    engine.clock.set(cool_off.due_at + timedelta(milliseconds=500))  # due, but no tick yet; the review is not
    now = engine.clock.now()
    run_command(engine.state.sessions, lambda s: human_tasks.complete(
        s, engine.state.ctx, review.id, APPROVE, actor="clerk", now=now))

    (job,) = _jobs(engine, instance_id)  # was: no job at all, and the instance stuck
    assert (job.bpmn_id, job.status) == ("issue_permit", ServiceJobStatus.AVAILABLE)
    assert "job:created" in engine.kinds(instance_id)
    assert run_jobs() == 1
    assert engine.instance(instance_id).status == InstanceStatus.COMPLETED
    assert _replays(engine, instance_id)


def test_timers_firing_in_one_step_are_recorded_in_due_order_and_replay_alike(engine: Engine,
                                                                              run_jobs: Callable[..., int]) -> None:
    instance_id = engine.start("crash_deadline")
    deemed = next(t for t in engine.timers(instance_id) if t.bpmn_id == "deemed_fire")
    report = engine.tick(deemed.due_at + timedelta(seconds=10))  # both overdue: the scheduler was down
    assert len(report.fired) == 1  # one firing command advanced the instance past both timers
    fired = [e.payload["bpmn_id"] for e in engine.events(instance_id) if e.kind == "timer:fired"]
    assert fired == ["cool_off", "deemed_fire"]  # due order
    assert {t.status for t in engine.timers(instance_id)} == {TimerStatus.FIRED}
    assert run_jobs() == 1
    assert engine.instance(instance_id).status == InstanceStatus.COMPLETED
    assert _replays(engine, instance_id)


def test_a_step_that_reports_a_service_task_twice_still_gets_one_job(engine: Engine) -> None:
    """3. Once on PostgreSQL a permit was issued twice: two jobs for one activation. Whatever reports a started
    service task twice within one step, the command path keeps one open job per task."""
    from engine.bpmn import runtime
    from engine.services import execution

    instance_id = engine.start("crash_deadline")
    cool_off = next(t for t in engine.timers(instance_id) if t.bpmn_id == "cool_off")
    state = engine.state

    def fire_with_a_doubled_request(session: Any) -> None:
        loaded = execution.load(session, state.ctx, execution.lock_instance(session, instance_id))
        result = runtime.advance(loaded.workflow, cool_off.due_at)
        (request,) = result.job_requests
        result.job_requests = [request, request]
        execution.persist(session, state.ctx, loaded, result, actor="scheduler", now=cool_off.due_at)

    run_command(state.sessions, fire_with_a_doubled_request)
    assert len(_jobs(engine, instance_id)) == 1
    assert engine.kinds(instance_id).count("job:created") == 1
