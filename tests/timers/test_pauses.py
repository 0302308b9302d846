"""A pauses_clock task freezes the instance's working-day timers and review SLAs; on close they move by the
working days between pause and resume (DESIGN.md §6)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from engine.dto import TaskOut
from engine.models import HumanTaskStatus, InstanceStatus, TimerStatus
from engine.services import calendars, human_tasks, sla
from engine.services.commands import run_command
from tests.conftest import Auth
from tests.timers.conftest import Engine, shanghai


def _complete(engine: Engine, task_id: str, actor: str) -> TaskOut:
    now = engine.clock.now()
    return run_command(engine.state.sessions, lambda s: human_tasks.complete(
        s, engine.state.ctx, task_id, {}, actor=actor, now=now))


def test_a_five_working_day_pause_moves_the_deadline_by_exactly_five(engine: Engine) -> None:
    engine.deploy("timer_pause")
    engine.clock.set(shanghai(2026, 3, 2, 9))  # Monday
    instance_id = engine.start("timer_pause", {"limit": 5})  # the timer text is f"P{limit}D"
    review, supplement = sorted(engine.tasks(instance_id), key=lambda t: t.bpmn_id != "review_design")
    original_due = shanghai(2026, 3, 9, 23, 59, 59)
    assert review.due_at == original_due
    (timer,) = engine.timers(instance_id)
    # Paused from the start: the supplement task opened in the same step.
    assert timer.due_at is None and timer.paused_on == shanghai(2026, 3, 2).date()
    paused = [e for e in engine.events(instance_id) if e.kind == "clock:paused"]
    assert [e.payload["reason"] for e in paused] == ["supplement"]

    # Past the original due while paused: nothing fires, the review's remaining days stay frozen.
    assert engine.tick(original_due + timedelta(hours=1)).candidates == 0
    with engine.state.sessions() as session:
        calendar = calendars.current(session, engine.state.ctx)
    view = sla.view(engine.tasks(instance_id)[0], engine.clock.now(), calendar)
    assert view is not None and (view.paused, view.remaining_working_days) == (True, 5)

    # The applicant supplies the documents on Monday 3/9: WD in (3/2, 3/9] = 3/3, 3/4, 3/5, 3/6, 3/9 = 5.
    engine.clock.set(shanghai(2026, 3, 9, 10))
    _complete(engine, supplement.id, "applicant")
    new_due = shanghai(2026, 3, 16, 23, 59, 59)  # 5 WD after the original due (3/10–3/13, 3/16)
    (timer,) = engine.timers(instance_id)
    assert (timer.due_at, timer.paused_on, timer.status) == (new_due, None, TimerStatus.WAITING)
    review = next(t for t in engine.tasks(instance_id) if t.bpmn_id == "review_design")
    assert (review.due_at, review.paused_on, review.paused_wd) == (new_due, None, 5)
    assert review.statutory_due_at == shanghai(2026, 3, 23, 23, 59, 59)  # 10 WD + 5
    events = engine.events(instance_id)
    (resumed,) = [e for e in events if e.kind == "clock:resumed"]
    assert resumed.payload["reason"] == "supplement"
    (moved,) = [e for e in events if e.kind == "timer:rescheduled"]
    assert moved.payload["working_days"] == 5 and moved.payload["due_at"] == "2026-03-16T15:59:59.000000Z"

    assert engine.tick(new_due - timedelta(seconds=1)).candidates == 0
    assert len(engine.tick(new_due).fired) == 1
    assert engine.instance(instance_id).status == InstanceStatus.COMPLETED
    review = next(t for t in engine.tasks(instance_id) if t.bpmn_id == "review_design")
    assert review.status == HumanTaskStatus.CANCELLED


def test_a_same_day_pause_moves_nothing(engine: Engine) -> None:
    engine.deploy("timer_pause")
    engine.clock.set(shanghai(2026, 3, 2, 9))
    instance_id = engine.start("timer_pause", {"limit": 5})
    supplement = next(t for t in engine.tasks(instance_id) if t.bpmn_id == "supplement")
    engine.clock.set(shanghai(2026, 3, 2, 17))
    _complete(engine, supplement.id, "applicant")
    (timer,) = engine.timers(instance_id)
    assert timer.due_at == shanghai(2026, 3, 9, 23, 59, 59)


def test_the_light_turns_yellow_then_red(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 3, 2, 9))  # committed 5 WD: due Mon 3/9; yellow at <= max(1, 20% of 5) = 1
    instance_id = engine.start("timer_deemed_review")
    with engine.state.sessions() as session:
        calendar = calendars.current(session, engine.state.ctx)
    (task,) = engine.tasks(instance_id)
    lights = {}
    for day in (shanghai(2026, 3, 2, 10), shanghai(2026, 3, 6, 10), shanghai(2026, 3, 9, 10),
                shanghai(2026, 3, 10, 0, 0, 1)):
        view = sla.view(task, day, calendar)
        assert view is not None
        lights[day.day] = (view.remaining_working_days, view.light)
    assert lights == {2: (5, "green"), 6: (1, "yellow"), 9: (0, "yellow"), 10: (-1, "red")}


def test_the_task_api_shows_due_dates_remaining_days_and_the_light(engine: Engine, client: FlaskClient,
                                                                    auth: Auth) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 3, 5, 9))  # Thursday; 5 WD: 3/6, 3/9, 3/10, 3/11, 3/12
    instance_id = engine.start("timer_deemed_review")
    headers = auth.headers("zhao.hc", "clerk", departments=["hc"])
    engine.clock.set(shanghai(2026, 3, 11, 9))
    (item,) = client.get(f"/api/tasks?processInstanceId={instance_id}", headers=headers).get_json()["items"]
    assert item["due_at"] == "2026-03-12T15:59:59.000000Z"
    assert item["statutory_due_at"] == "2026-04-02T15:59:59.000000Z"
    assert (item["remaining_working_days"], item["light"], item["clock_paused"]) == (1, "yellow", False)
    detail = client.get(f"/api/tasks/{item['id']}", headers=headers).get_json()
    assert (detail["remaining_working_days"], detail["light"]) == (1, "yellow")
