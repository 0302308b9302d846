"""The clock jumping backwards (an NTP step, a VM restored, an operator's mistake) on the simulated clock: nothing
fires twice, nothing fires early, no duration goes negative, and history still verifies and replays.

(`approvals clock set` itself refuses to go backwards; the system clock cannot be stopped from doing so.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from engine.clock import SimulatedClock
from engine.models import HumanTaskStatus, InstanceStatus, TimerStatus
from engine.services import calendars, history, human_tasks, sla
from engine.services.commands import run_command
from engine.services.replay import Replayer
from tests.timers.conftest import Engine, shanghai


@pytest.fixture
def engine(app: Flask, clock: SimulatedClock, deploy: Callable[..., Any]) -> Engine:
    return Engine(app, clock, deploy)


def _fired(engine: Engine, instance_id: str) -> list[str]:
    return [e.payload["bpmn_id"] for e in engine.events(instance_id) if e.kind == "timer:fired"]


def _sound(engine: Engine, instance_id: str) -> None:
    with engine.state.sessions() as session:
        assert history.verify_all(session, engine.state.ctx.hmac_key) == []
        with Replayer(session, engine.state.ctx) as replayer:
            report = replayer.replay(instance_id, verify=True)
    assert report.ok, report.difference


def test_a_fired_deadline_does_not_fire_again_when_the_clock_goes_back_and_forward(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 4, 3, 16, 30))
    instance_id = engine.start("timer_deemed_review")
    (timer,) = engine.timers(instance_id)
    assert engine.tick(timer.due_at).fired == [timer.id]

    engine.clock.set(timer.due_at - timedelta(days=3))  # back before the deadline
    assert engine.tick().candidates == 0
    engine.clock.set(timer.due_at + timedelta(days=1))  # and forward past it again
    assert engine.tick().candidates == 0
    assert _fired(engine, instance_id) == ["deemed_fire"]
    (timer_after,) = engine.timers(instance_id)
    assert (timer_after.status, timer_after.fired_at) == (TimerStatus.FIRED, timer.due_at)
    assert engine.instance(instance_id).status == InstanceStatus.COMPLETED
    _sound(engine, instance_id)


def test_a_waiting_deadline_keeps_its_due_time_and_never_fires_early(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 4, 3, 16, 30))
    instance_id = engine.start("timer_deemed_review")
    (timer,) = engine.timers(instance_id)
    (task,) = engine.tasks(instance_id)
    engine.clock.set(shanghai(2026, 3, 20, 9))  # two weeks before the instance started
    assert engine.tick().candidates == 0
    (still,) = engine.timers(instance_id)
    assert (still.status, still.due_at) == (TimerStatus.WAITING, timer.due_at)  # not recomputed from "now"
    with engine.state.sessions() as session:
        calendar = calendars.current(session, engine.state.ctx)
    view = sla.view(engine.tasks(instance_id)[0], engine.clock.now(), calendar)
    assert view is not None and 0 <= view.remaining_working_days <= 5 + 10  # bounded, not negative

    # A clerk acts in the past: recorded at that instant, the deadline is cancelled, nothing fires later.
    now = engine.clock.now()
    run_command(engine.state.sessions, lambda s: human_tasks.complete(
        s, engine.state.ctx, task.id, {}, actor="li.hc", now=now))
    assert engine.tick(timer.due_at + timedelta(days=1)).candidates == 0
    assert _fired(engine, instance_id) == []
    assert engine.tasks(instance_id)[0].status == HumanTaskStatus.COMPLETED
    _sound(engine, instance_id)


def test_a_pause_that_ends_before_it_began_moves_no_deadline_earlier(engine: Engine) -> None:
    engine.deploy("timer_pause")
    engine.clock.set(shanghai(2026, 3, 9, 9))  # Monday
    instance_id = engine.start("timer_pause", {"limit": 5})
    supplement = next(t for t in engine.tasks(instance_id) if t.bpmn_id == "supplement")
    engine.clock.set(shanghai(2026, 3, 2, 9))  # a week back: the applicant "supplies" before the pause began
    now = engine.clock.now()
    run_command(engine.state.sessions, lambda s: human_tasks.complete(
        s, engine.state.ctx, supplement.id, {}, actor="applicant", now=now))
    (timer,) = engine.timers(instance_id)
    original_due = shanghai(2026, 3, 16, 23, 59, 59)  # 5 WD after Monday 3/9: the shift was 0, not negative
    assert (timer.due_at, timer.paused_on) == (original_due, None)
    moved = [e for e in engine.events(instance_id) if e.kind == "timer:rescheduled"]
    assert [e.payload["working_days"] for e in moved] == [0]
    review = next(t for t in engine.tasks(instance_id) if t.bpmn_id == "review_design")
    assert review.due_at == original_due and (review.paused_wd or 0) == 0
    assert engine.tick(original_due - timedelta(seconds=1)).candidates == 0
    assert engine.tick(original_due).fired == [timer.id]
    _sound(engine, instance_id)


def test_a_cycle_timer_fires_each_period_once_across_a_backward_jump(engine: Engine) -> None:
    engine.deploy("timer_kinds")
    start = shanghai(2026, 3, 2, 9)
    engine.clock.set(start)
    instance_id = engine.start("timer_kinds", {"hearing_at": (start + timedelta(hours=2)).isoformat()})
    engine.tick(start + timedelta(hours=1))  # wait_hour
    engine.tick(start + timedelta(hours=2))  # wait_until: the hearing opens with its R2/PT1H reminder
    engine.tick(start + timedelta(hours=3))  # first reminder
    engine.clock.set(start + timedelta(hours=2, minutes=30))  # back between the first and second period
    engine.tick()
    engine.tick(start + timedelta(hours=3, minutes=30))  # forward again, still before the second period
    assert _fired(engine, instance_id).count("remind_hearing") == 1
    engine.tick(start + timedelta(hours=4))
    assert _fired(engine, instance_id).count("remind_hearing") == 2
    engine.tick(start + timedelta(hours=9))  # R2: no third
    assert _fired(engine, instance_id).count("remind_hearing") == 2
    _sound(engine, instance_id)


def test_the_shared_simulated_clock_refuses_to_go_backwards(app: Flask) -> None:
    from engine import db_clock
    from engine.errors import InvalidInput
    from tests.conftest import engine_state

    state = engine_state(app)
    run_command(state.sessions, lambda s: db_clock.set_time(s, state.ctx, shanghai(2026, 3, 2, 9), actor="ops",
                                                            wall=state.clock.now()))
    with pytest.raises(InvalidInput, match="does not go backwards"):
        run_command(state.sessions, lambda s: db_clock.set_time(s, state.ctx, shanghai(2026, 3, 1, 9),
                                                                actor="ops", wall=state.clock.now()))
