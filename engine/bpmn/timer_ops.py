"""What the services do to a workflow's waiting timers: read their facts, pause, resume, recompute.

All changes are to the timers' internal data (`event_value`, `engine_timer`); nothing runs. The caller holds the
instance lock and persists the workflow afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.timer_values import Basis, workday_due
from engine.bpmn.timers import INFO, EngineTimer, calendar_of


@dataclass(frozen=True)
class TimerFacts:
    spiff_task_id: str
    bpmn_id: str
    due_at: datetime | None
    calendar: str
    provisional: bool
    pausable: bool
    paused_on: date | None
    basis: dict[str, Any] | None
    cycle: bool


@dataclass(frozen=True)
class Rescheduled:
    spiff_task_id: str
    bpmn_id: str
    old_due: datetime | None
    new_due: datetime
    provisional: bool
    working_days: int  # days added by a pause (0 for a schedule recompute)


def _due(task: SpiffTask) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = value.get("next")
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def facts(task: SpiffTask) -> TimerFacts | None:
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, EngineTimer):
        return None
    info = task._get_internal_data(INFO) or {}
    paused_on = info.get("paused_on")
    return TimerFacts(
        spiff_task_id=str(task.id),
        bpmn_id=task.task_spec.bpmn_id,
        due_at=_due(task),
        calendar=definition.calendar,
        provisional=bool(info.get("provisional", False)),
        pausable=definition.pausable,
        paused_on=date.fromisoformat(paused_on) if paused_on else None,
        basis=info.get("basis"),
        cycle=isinstance(task._get_internal_data("event_value"), dict),
    )


def _waiting(workflow: BpmnWorkflow) -> list[tuple[SpiffTask, TimerFacts]]:
    found = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        timer = facts(task)
        if timer is not None:
            found.append((task, timer))
    return found


def waiting_timers(workflow: BpmnWorkflow) -> list[TimerFacts]:
    return [timer for _task, timer in _waiting(workflow)]


def _update(task: SpiffTask, basis: Basis, due_at: datetime, provisional: bool, paused_on: str | None) -> None:
    info = dict(task._get_internal_data(INFO) or {})
    info.update(basis=basis.to_json(), provisional=provisional, paused_on=paused_on)
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):
        value = {**value, "next": due_at.isoformat()}
    else:
        value = due_at.isoformat()
    task._set_internal_data(event_value=value, **{INFO: info})


def freeze(workflow: BpmnWorkflow, on: date) -> list[TimerFacts]:
    """Pause every waiting pausable working-day timer that is not paused yet, from date `on`."""
    frozen = []
    for task, timer in _waiting(workflow):
        if timer.pausable and timer.basis is not None and timer.paused_on is None:
            info = dict(task._get_internal_data(INFO) or {})
            info["paused_on"] = on.isoformat()
            task._set_internal_data(**{INFO: info})
            frozen.append(timer)
    return frozen


def thaw(workflow: BpmnWorkflow, on: date) -> list[Rescheduled]:
    """Resume paused timers: each moves by the working days d with paused_on < d <= on (same day = 0)."""
    cal = calendar_of(workflow)
    moved = []
    for task, timer in _waiting(workflow):
        if timer.paused_on is None or timer.basis is None:
            continue
        days = cal.working_days_between(timer.paused_on, on)
        basis = Basis.from_json(timer.basis).shifted(days)
        due = workday_due(cal, basis)
        _update(task, basis, due.at, due.provisional, None)
        moved.append(Rescheduled(timer.spiff_task_id, timer.bpmn_id, timer.due_at, due.at, due.provisional, days))
    return moved


def recompute(workflow: BpmnWorkflow) -> list[Rescheduled]:
    """Recompute every waiting working-day due from its basis with the bound calendar (a schedule was loaded)."""
    cal = calendar_of(workflow)
    changed = []
    for task, timer in _waiting(workflow):
        if timer.basis is None:
            continue
        basis = Basis.from_json(timer.basis)
        due = workday_due(cal, basis)
        if due.at == timer.due_at and due.provisional == timer.provisional:
            continue
        paused = timer.paused_on.isoformat() if timer.paused_on else None
        _update(task, basis, due.at, due.provisional, paused)
        changed.append(Rescheduled(timer.spiff_task_id, timer.bpmn_id, timer.due_at, due.at, due.provisional, 0))
    return changed
