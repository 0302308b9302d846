"""Timers fire on the simulated clock at due <= now, once, through `services.timers.fire_due` (SQLite)."""

from __future__ import annotations

from datetime import timedelta, timezone

from engine import metrics
from engine.models import HumanTaskStatus, InstanceStatus, TimerStatus
from engine.services import human_tasks, instances
from engine.services.commands import run_command
from tests.timers.conftest import Engine, shanghai


def test_five_working_day_deemed_approval_started_the_friday_before_qingming(engine: Engine) -> None:
    # 2026-04-03 is the Friday before Qingming (4/4 Sat – 4/6 Mon off): days 1–5 are 4/7, 4/8, 4/9, 4/10, 4/13.
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 4, 3, 16, 30))
    instance_id = engine.start("timer_deemed_review")
    (timer,) = engine.timers(instance_id)
    due = shanghai(2026, 4, 13, 23, 59, 59)
    assert timer.due_at == due and timer.due_at.tzinfo == timezone.utc
    assert (timer.calendar, timer.provisional, timer.pausable, timer.status) == ("workday", False, True, "waiting")
    (task,) = engine.tasks(instance_id)
    assert task.due_at == due and task.statutory_due_at == shanghai(2026, 5, 7, 23, 59, 59)  # 20 WD: 5/1–5/5 off

    lag_count = metrics.TIMER_LAG.count
    report = engine.tick(due - timedelta(seconds=1))
    assert report.fired == [] and report.candidates == 0
    assert engine.timers(instance_id)[0].status == TimerStatus.WAITING
    assert engine.tasks(instance_id)[0].status == HumanTaskStatus.OPEN

    report = engine.tick(due)
    assert report.fired == [timer.id]
    (timer,) = engine.timers(instance_id)
    assert (timer.status, timer.fired_at) == (TimerStatus.FIRED, due)
    assert engine.tasks(instance_id)[0].status == HumanTaskStatus.CANCELLED
    instance = engine.instance(instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    kinds = engine.kinds(instance_id)
    assert max(kinds.index("timer:fired"), kinds.index("task:cancelled")) < kinds.index("instance:completed")
    assert metrics.TIMER_LAG.count == lag_count + 1

    assert engine.tick(due + timedelta(days=30)).candidates == 0  # fired once, never again


def test_non_interrupting_cap_on_a_subprocess_fires_and_the_process_still_completes(engine: Engine) -> None:
    engine.deploy("timer_stage_cap")  # calendar from camunda:properties on the process
    engine.clock.set(shanghai(2026, 3, 2, 9))  # Monday
    instance_id = engine.start("timer_stage_cap")
    (cap,) = engine.timers(instance_id)
    assert (cap.bpmn_id, cap.calendar, cap.due_at) == ("cap_planning", "workday", shanghai(2026, 3, 5, 23, 59, 59))

    assert engine.tick(shanghai(2026, 3, 5, 23, 59, 59)).fired == [cap.id]
    (task,) = engine.tasks(instance_id)
    assert task.status == HumanTaskStatus.OPEN  # the stage goes on
    assert engine.instance(instance_id).status == InstanceStatus.RUNNING

    now = engine.clock.now()
    run_command(engine.state.sessions, lambda s: human_tasks.complete(
        s, engine.state.ctx, task.id, {}, actor="li.nrp", now=now))
    instance = engine.instance(instance_id)
    assert instance.status == InstanceStatus.COMPLETED
    advanced = [e.payload["elements"] for e in engine.events(instance_id) if e.kind == "instance:advanced"]
    reached = {element for elements in advanced for element in elements}
    assert {"note_cap", "end_cap", "end_done"} <= reached


def test_suspended_instances_fire_nothing_and_overdue_timers_fire_after_resume(engine: Engine) -> None:
    engine.deploy("timer_deemed_review")
    engine.clock.set(shanghai(2026, 3, 2, 9))
    instance_id = engine.start("timer_deemed_review")
    due = engine.timers(instance_id)[0].due_at
    assert due is not None
    now = engine.clock.now()
    run_command(engine.state.sessions, lambda s: instances.set_suspended(
        s, engine.state.ctx, instance_id, True, actor="admin", now=now, reason="核查"))
    assert engine.tick(due + timedelta(days=3)).candidates == 0
    assert engine.timers(instance_id)[0].status == TimerStatus.WAITING

    now = engine.clock.now()
    run_command(engine.state.sessions, lambda s: instances.set_suspended(
        s, engine.state.ctx, instance_id, False, actor="admin", now=now, reason="核查完毕"))
    report = engine.tick()
    assert len(report.fired) == 1
    assert engine.instance(instance_id).status == InstanceStatus.COMPLETED


def test_natural_duration_date_expression_and_cycle_timers(engine: Engine) -> None:
    engine.deploy("timer_kinds")
    start = shanghai(2026, 3, 2, 9)
    engine.clock.set(start)
    instance_id = engine.start("timer_kinds", {"hearing_at": "2026-03-04T10:00:00+08:00"})
    (wait,) = engine.timers(instance_id)
    assert (wait.bpmn_id, wait.calendar, wait.due_at) == ("wait_hour", "natural", start + timedelta(hours=1))
    assert engine.tick(start + timedelta(minutes=59, seconds=59)).fired == []
    assert len(engine.tick(start + timedelta(hours=1)).fired) == 1
    waiting = [t for t in engine.timers(instance_id) if t.status == TimerStatus.WAITING]
    assert [(t.bpmn_id, t.due_at) for t in waiting] == [("wait_until", shanghai(2026, 3, 4, 10))]

    engine.tick(shanghai(2026, 3, 4, 10))
    (reminder,) = [t for t in engine.timers(instance_id) if t.status == TimerStatus.WAITING]
    assert (reminder.bpmn_id, reminder.due_at) == ("remind_hearing", shanghai(2026, 3, 4, 11))
    engine.tick(shanghai(2026, 3, 4, 11))
    (reminder,) = [t for t in engine.timers(instance_id) if t.bpmn_id == "remind_hearing"]
    assert reminder.status == TimerStatus.WAITING and reminder.due_at == shanghai(2026, 3, 4, 12)
    engine.tick(shanghai(2026, 3, 4, 12))
    fired = [e for e in engine.events(instance_id) if e.kind == "timer:fired" and e.payload["bpmn_id"] ==
             "remind_hearing"]
    assert len(fired) == 2  # R2: two reminders, then the cycle is done
    assert all(t.status != TimerStatus.WAITING for t in engine.timers(instance_id))
    assert engine.tasks(instance_id)[0].status == HumanTaskStatus.OPEN  # non-interrupting


def test_one_failing_instance_becomes_an_incident_and_the_others_fire(engine: Engine) -> None:
    engine.deploy("timer_then_script")
    start = shanghai(2026, 3, 2, 9)
    engine.clock.set(start)
    good = [engine.start("timer_then_script", {"divisor": 2}) for _ in range(2)]
    bad = engine.start("timer_then_script", {"divisor": 0})
    bad_state = engine.instance(bad).state_json

    report = engine.tick(start + timedelta(hours=2))
    assert len(report.fired) == 2 and len(report.incidents) == 1
    for instance_id in good:
        assert engine.instance(instance_id).status == InstanceStatus.COMPLETED
    broken = engine.instance(bad)
    assert broken.status == InstanceStatus.RUNNING and broken.state_json == bad_state  # nothing half-applied
    (timer,) = engine.timers(bad)
    assert timer.status == TimerStatus.INCIDENT
    (incident,) = [e for e in engine.events(bad) if e.kind == "instance:incident"]
    assert incident.payload["bpmn_id"] == "wait_then_divide" and "divis" in incident.payload["error"]
    assert engine.tick(start + timedelta(hours=3)).candidates == 0  # not retried every tick


def test_a_tick_takes_at_most_its_batch_oldest_due_first(engine: Engine) -> None:
    engine.deploy("timer_then_script")
    start = shanghai(2026, 3, 2, 9)
    ids = []
    for minute in range(5):
        engine.clock.set(start + timedelta(minutes=minute))
        ids.append(engine.start("timer_then_script", {"divisor": 1}))
    report = engine.tick(start + timedelta(hours=2), batch=2)
    assert len(report.fired) == 2
    assert [engine.instance(i).status for i in ids] == ["completed", "completed", "running", "running", "running"]
    assert len(engine.tick(batch=100).fired) == 3
