"""A completion that arrives after the deadline but before the scheduler's tick loses to the deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import TaskAlreadyCompleted
from engine.models import HumanTaskStatus, InstanceStatus, TimerStatus
from engine.services import human_tasks
from engine.services.commands import run_command
from tests.timers.conftest import Engine, shanghai


def _complete(engine: Engine, task_id: str) -> None:
    now = engine.clock.now()
    run_command(engine.state.sessions, lambda s: human_tasks.complete(
        s, engine.state.ctx, task_id, {}, actor="li.nrp", now=now))


def test_completion_after_the_due_instant_is_refused_and_the_tick_deems_it(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 4, 3, 16, 30))
    instance_id = engine.start("timer_deemed_review")
    (timer,) = engine.timers(instance_id)
    (task,) = engine.tasks(instance_id)
    events_before = engine.kinds(instance_id)

    engine.clock.set(timer.due_at + timedelta(seconds=1))  # no tick has run yet
    with pytest.raises(TaskAlreadyCompleted, match="closed by its deadline"):
        _complete(engine, task.id)
    assert engine.kinds(instance_id) == events_before  # refused: nothing recorded
    assert engine.tasks(instance_id)[0].status == HumanTaskStatus.OPEN

    assert engine.tick().fired == [timer.id]
    assert engine.timers(instance_id)[0].status == TimerStatus.FIRED
    assert engine.tasks(instance_id)[0].status == HumanTaskStatus.CANCELLED
    assert engine.instance(instance_id).status == InstanceStatus.COMPLETED


def test_completion_one_second_before_the_due_instant_wins(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 4, 3, 16, 30))
    instance_id = engine.start("timer_deemed_review")
    (timer,) = engine.timers(instance_id)
    (task,) = engine.tasks(instance_id)
    engine.clock.set(timer.due_at - timedelta(seconds=1))
    _complete(engine, task.id)
    assert engine.tasks(instance_id)[0].status == HumanTaskStatus.COMPLETED
    assert engine.timers(instance_id)[0].status == TimerStatus.CANCELLED
    assert engine.tick(timer.due_at + timedelta(days=1)).fired == []


def test_a_deemed_approval_is_recorded_when_the_deadline_closes_the_review(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 4, 3, 16, 30))
    instance_id = engine.start("timer_deemed_review")
    (timer,) = engine.timers(instance_id)
    (task,) = engine.tasks(instance_id)
    assert engine.tick(timer.due_at).fired == [timer.id]
    deemed = [e for e in engine.events(instance_id) if e.kind == "task:deemed_approved"]
    assert len(deemed) == 1
    assert deemed[0].payload["task_id"] == task.id and deemed[0].payload["bpmn_id"] == task.bpmn_id
    kinds = engine.kinds(instance_id)
    assert kinds.index("task:cancelled") < kinds.index("task:deemed_approved")


def test_no_deemed_approval_when_the_clerk_answers_in_time(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 4, 3, 16, 30))
    instance_id = engine.start("timer_deemed_review")
    (task,) = engine.tasks(instance_id)
    _complete(engine, task.id)
    assert "task:deemed_approved" not in engine.kinds(instance_id)
