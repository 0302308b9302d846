"""Review-task SLA clocks (DESIGN.md §4): due dates from `limit_committed_wd` / `limit_statutory_wd`, remaining
working days and the light.

A review task is a user task with `limit_committed_wd`. Its day 0 is its creation date (Asia/Shanghai); the
committed due is the end of the Nth working day after it, exactly like a `P{N}D` working-day timer started at
the same instant, so the task list and the deemed-approval timer agree. Ended pauses add working days to both
limits (`paused_wd`); while the clock is paused (`paused_on`) the remaining days stay frozen.

Light: red when past the committed due; yellow when remaining <= max(1 WD, 20% of the committed limit); else green.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.bpmn.timer_values import shanghai_date
from engine.calendar import WorkCalendar
from engine.dto import TaskOut
from engine.errors import InvalidInput
from engine.models import EventKind, HumanTask, HumanTaskStatus
from engine.services import core_rows
from engine.services.context import EngineContext

COMMITTED = "limit_committed_wd"
STATUTORY = "limit_statutory_wd"
PAUSES_CLOCK = "pauses_clock"
GREEN, YELLOW, RED = "green", "yellow", "red"


def working_days_property(properties: dict[str, str], name: str) -> int | None:
    """An optional non-negative integer property; a bad value is a designer error naming the property."""
    text = (properties or {}).get(name)
    if text is None or str(text).strip() == "":
        return None
    try:
        value = int(str(text).strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number of working days, not {text!r}") from None
    if value < 0:
        raise InvalidInput(f"{name} must be >= 0, not {value}")
    return value


def is_review(task: HumanTask) -> bool:
    return working_days_property(task.properties, COMMITTED) is not None


def pauses_clock(task: HumanTask) -> str | None:
    return pause_reason(task.properties)


def pause_reason(properties: dict[str, Any] | None) -> str | None:
    """The `pauses_clock` reason in a task's properties, or None."""
    reason = (properties or {}).get(PAUSES_CLOCK)
    return str(reason).strip() or None if reason is not None else None


def apply_limits(task: HumanTask, calendar: WorkCalendar) -> bool:
    """Set due_at / statutory_due_at from the limits and the pause days; True if either changed."""
    before = (task.due_at, task.statutory_due_at)
    extra = task.paused_wd or 0
    committed = working_days_property(task.properties, COMMITTED)
    statutory = working_days_property(task.properties, STATUTORY)
    if committed is not None:
        task.due_at = calendar.deadline(task.created_at, committed + extra).due_at
    if statutory is not None:
        task.statutory_due_at = calendar.deadline(task.created_at, statutory + extra).due_at
    return (task.due_at, task.statutory_due_at) != before


_TASKS = HumanTask.__table__
_OPEN_TASKS = select(*_TASKS.c).where(_TASKS.c.instance_id == bindparam("instance_id"),
                                      _TASKS.c.status == HumanTaskStatus.OPEN)


def open_tasks(session: Session, instance_id: str) -> list[HumanTask]:
    """The instance's open task rows as the session's objects (`core_rows.objects`: a prebuilt statement, no ORM
    query per call)."""
    return core_rows.objects(session, HumanTask, _OPEN_TASKS, {"instance_id": instance_id})


def _open_limited(session: Session, instance_id: str) -> list[HumanTask]:
    return [t for t in open_tasks(session, instance_id) if (t.due_at or t.statutory_due_at) and not pauses_clock(t)]


def freeze_open_tasks(session: Session, instance_id: str, now: datetime) -> None:
    for task in _open_limited(session, instance_id):
        if task.paused_on is None:
            task.paused_on = shanghai_date(now)


def thaw_open_tasks(session: Session, instance_id: str, calendar: WorkCalendar, now: datetime) -> None:
    today = shanghai_date(now)
    for task in _open_limited(session, instance_id):
        if task.paused_on is not None:
            task.paused_wd = (task.paused_wd or 0) + calendar.working_days_between(task.paused_on, today)
            task.paused_on = None
            apply_limits(task, calendar)


def recompute_open_tasks(session: Session, ctx: EngineContext, instance_id: str, calendar: WorkCalendar, *,
                         actor: str, now: datetime, reason: str) -> int:
    from engine.services import execution

    changed = 0
    for task in _open_limited(session, instance_id):
        old = task.due_at
        if apply_limits(task, calendar):
            changed += 1
            execution.record(session, ctx, instance_id, EventKind.TIMER_RESCHEDULED, actor=actor, now=now,
                             payload={"task_id": task.id, "bpmn_id": task.bpmn_id, "old_due_at": old,
                                      "due_at": task.due_at, "statutory_due_at": task.statutory_due_at,
                                      "reason": reason})
    return changed


@dataclass(frozen=True)
class SlaView:
    remaining_working_days: int
    light: str
    paused: bool


def view(task: HumanTask, now: datetime, calendar: WorkCalendar) -> SlaView | None:
    """Remaining working days to the committed due (negative: working days overdue) and the light."""
    committed = working_days_property(task.properties, COMMITTED)
    if task.due_at is None or committed is None:
        return None
    due_date = shanghai_date(task.due_at)
    if task.paused_on is not None:
        remaining = calendar.working_days_between(task.paused_on, due_date)
        return SlaView(remaining, _light(remaining, committed, overdue=False), True)
    today = shanghai_date(now)
    if now > task.due_at:
        return SlaView(-calendar.working_days_between(due_date, today), RED, False)
    remaining = calendar.working_days_between(today, due_date)
    return SlaView(remaining, _light(remaining, committed, overdue=False), False)


def _light(remaining: int, committed: int, *, overdue: bool) -> str:
    if overdue:
        return RED
    return YELLOW if remaining <= max(1.0, 0.2 * committed) else GREEN


def task_out(task: HumanTask, now: datetime, calendar: WorkCalendar) -> TaskOut:
    """The task DTO with its SLA view (remaining working days, light, paused) when it is an open review task."""
    clock = view(task, now, calendar) if task.status == HumanTaskStatus.OPEN else None
    if clock is None:
        return TaskOut.from_model(task)
    return TaskOut.from_model(task, remaining_working_days=clock.remaining_working_days, light=clock.light,
                              clock_paused=clock.paused)
