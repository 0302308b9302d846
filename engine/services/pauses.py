"""Clock pauses (不计入审批时限, DESIGN.md §4 and §6), kept in step by the command path after every engine step.

A task with property `pauses_clock` = reason pauses its instance's working-day clock while it is open. Pauses
that overlap count once: the clock is frozen from the first pause until the last one ends. While frozen,
pausable working-day timers never fire (their row has no due_at, so ticks do not even see them) and review
tasks keep their remaining days; when the last pause ends every frozen due moves by the working days d with
pause date < d <= resume date (same day = 0). Each pause and resume is an event with its reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime, timer_ops
from engine.bpmn.timer_values import shanghai_date
from engine.models import ClockPause, EventKind, HumanTask
from engine.services import calendars, core_rows, sla
from engine.services.context import EngineContext

if TYPE_CHECKING:
    from engine.services.execution import Loaded  # execution imports this module


_PAUSES = ClockPause.__table__
_OPEN_PAUSES = select(*_PAUSES.c).where(_PAUSES.c.instance_id == bindparam("instance_id"),
                                        _PAUSES.c.resumed_at.is_(None))  # built once


def sync(session: Session, ctx: EngineContext, loaded: Loaded, result: runtime.StepResult, *,
         actor: str, now: datetime, open_tasks: list[HumanTask] | None = None) -> runtime.StepResult:
    """Open/close pauses for the instance's pausing tasks; freeze or thaw its clock. Returns the (possibly
    refreshed) step result so the timer rows mirror frozen and moved due times. `open_tasks`: when the
    caller has them (the command path just synced them), the open task rows, or at least those that pause the
    clock."""
    from engine.services import execution

    instance, workflow = loaded.instance, loaded.workflow
    open_pauses = {p.task_id: p for p in core_rows.objects(session, ClockPause, _OPEN_PAUSES,
                                                           {"instance_id": instance.id})}
    if open_tasks is None:
        open_tasks = sla.open_tasks(session, instance.id)
    pausing = {t.id: t for t in open_tasks if sla.pauses_clock(t)}
    if not open_pauses and not pausing:
        return result
    for task_id, pause in open_pauses.items():
        if task_id not in pausing:
            pause.resumed_at = now
            execution.record(session, ctx, instance.id, EventKind.CLOCK_RESUMED, actor=actor, now=now,
                             payload={"reason": pause.reason, "task_id": task_id, "bpmn_id": pause.bpmn_id,
                                      "paused_at": pause.paused_at})
    for task_id, task in pausing.items():
        if task_id not in open_pauses:
            reason = sla.pauses_clock(task) or ""
            session.add(ClockPause(id=str(uuid.uuid4()), instance_id=instance.id, task_id=task_id,
                                   bpmn_id=task.bpmn_id, reason=reason, paused_at=now))
            execution.record(session, ctx, instance.id, EventKind.CLOCK_PAUSED, actor=actor, now=now,
                             payload={"reason": reason, "task_id": task_id, "bpmn_id": task.bpmn_id})
    today = shanghai_date(now)
    if pausing:
        # Frozen from the first pause on; timers and tasks that start during it freeze from their own start.
        timer_ops.freeze(workflow, today)
        sla.freeze_open_tasks(session, instance.id, now)
    else:
        calendar = calendars.current(session, ctx)
        runtime.bind_calendar(workflow, calendar)
        for moved in timer_ops.thaw(workflow, today):
            execution.record(session, ctx, instance.id, EventKind.TIMER_RESCHEDULED, actor=actor, now=now,
                             payload={"bpmn_id": moved.bpmn_id, "spiff_task_id": moved.spiff_task_id,
                                      "old_due_at": moved.old_due, "due_at": moved.new_due,
                                      "provisional": moved.provisional, "working_days": moved.working_days,
                                      "reason": "clock_resumed"})
        sla.thaw_open_tasks(session, instance.id, calendar, now)
    fresh = runtime.snapshot(workflow)
    result.timers = fresh.timers
    return result
