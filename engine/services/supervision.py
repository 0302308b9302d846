"""The leaders' supervision figures: open projects, and open / due-soon / overdue / deemed-approved
tasks by department this month (督办)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.auth.policy import TaskScope
from engine.calendar import SHANGHAI, WorkCalendar
from engine.models import EventKind, HumanTask, HumanTaskStatus, InstanceEvent, InstanceStatus, ProcessInstance
from engine.services.inbox import sla


@dataclass
class DepartmentLoad:
    department: str
    open: int = 0
    yellow: int = 0
    red: int = 0
    completed_this_month: int = 0
    deemed_this_month: int = 0


@dataclass
class Dashboard:
    open_projects: int
    suspended_projects: int
    completed_this_month: int
    by_department: list[DepartmentLoad]
    by_step: list[tuple[str, int]] = field(default_factory=list)
    month_start: datetime | None = None


def month_start(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def dashboard(session: Session, *, scope: TaskScope, departments: dict[str, str], now: datetime,
              calendar: WorkCalendar) -> Dashboard:
    start = month_start(now)
    loads: dict[str, DepartmentLoad] = {}

    def load(code: str) -> DepartmentLoad:
        return loads.setdefault(code, DepartmentLoad(code))

    steps: Counter[str] = Counter()
    for task in session.scalars(select(HumanTask).where(HumanTask.status == HumanTaskStatus.OPEN)):
        if not scope.admits(task.candidate_groups or [], task.assignee):
            continue
        steps[task.name or task.bpmn_id] += 1
        light = sla(task, now, calendar).light
        for code in task.candidate_groups or []:
            entry = load(code)
            entry.open += 1
            entry.yellow += light == "yellow"
            entry.red += light == "red"
    for task in session.scalars(select(HumanTask).where(HumanTask.status == HumanTaskStatus.COMPLETED,
                                                        HumanTask.completed_at >= start)):
        if scope.admits(task.candidate_groups or [], task.assignee):
            for code in task.candidate_groups or []:
                load(code).completed_this_month += 1
    deemed = session.scalars(select(InstanceEvent).where(InstanceEvent.kind == EventKind.TASK_DEEMED_APPROVED,
                                                         InstanceEvent.at >= start))
    for event in deemed:
        payload = event.payload or {}
        codes = payload.get("candidate_groups") or ([payload["department"]] if payload.get("department") else [])
        for code in codes:
            if scope.everything or code in scope.departments:
                load(code).deemed_this_month += 1
    counts = dict(session.execute(select(ProcessInstance.status, func.count()).group_by(ProcessInstance.status)).all())
    completed = session.scalar(select(func.count()).where(ProcessInstance.status == InstanceStatus.COMPLETED,
                                                          ProcessInstance.ended_at >= start)) or 0
    order = {code: i for i, code in enumerate(departments)}
    rows = sorted(loads.values(), key=lambda d: (order.get(d.department, len(order)), d.department))
    return Dashboard(counts.get(InstanceStatus.RUNNING, 0), counts.get(InstanceStatus.SUSPENDED, 0), completed, rows,
                     steps.most_common(), start)
