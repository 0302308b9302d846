"""A clerk's inbox: open tasks in the caller's scope with their project, deadline and traffic light.

Deadlines and lights come from engine/services/sla.py (review tasks with `limit_committed_wd`); other tasks
have no light.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.auth.policy import TaskScope
from engine.calendar import WorkCalendar
from engine.models import HumanTask, HumanTaskStatus, ProcessInstance
from engine.services import sla as sla_clock
from engine.services.projects import ProjectSummary, summaries

VIEWS = ("all", "mine", "unclaimed")
SORTS = ("due", "created", "project")
LIGHTS = ("green", "yellow", "red")


@dataclass(frozen=True)
class Sla:
    due_at: datetime | None
    remaining_wd: int | None
    light: str | None
    paused: bool = False


def sla(task: HumanTask, now: datetime, calendar: WorkCalendar) -> Sla:
    view = sla_clock.view(task, now, calendar)
    if view is None:
        return Sla(task.due_at, None, None, task.paused_on is not None)
    return Sla(task.due_at, view.remaining_working_days, view.light, view.paused)


@dataclass(frozen=True)
class InboxRow:
    task_id: str
    bpmn_id: str
    step: str
    departments: list[str]
    assignee: str | None
    created_at: datetime
    sla: Sla
    project: ProjectSummary


def inbox(session: Session, *, scope: TaskScope, me: str, now: datetime, calendar: WorkCalendar,
          view: str = "all", department: str | None = None, search: str | None = None, light: str | None = None,
          sort: str = "due", limit: int = 200) -> list[InboxRow]:
    """Open tasks the scope admits, filtered and sorted; unknown view/sort values fall back to the defaults."""
    query = select(HumanTask).where(HumanTask.status == HumanTaskStatus.OPEN)
    if view == "mine":
        query = query.where(HumanTask.assignee == me)
    elif view == "unclaimed":
        query = query.where(HumanTask.assignee.is_(None))
    tasks = [t for t in session.scalars(query) if scope.admits(t.candidate_groups or [], t.assignee)]
    if department:
        tasks = [t for t in tasks if department in (t.candidate_groups or [])]
    instances = {i.id: i for i in session.scalars(select(ProcessInstance).where(
        ProcessInstance.id.in_({t.instance_id for t in tasks})))}
    projects = {p.instance_id: p for p in summaries(session, list(instances.values()))}
    rows = [InboxRow(t.id, t.bpmn_id, t.name or t.bpmn_id, list(t.candidate_groups or []), t.assignee, t.created_at,
                     sla(t, now, calendar), projects[t.instance_id])
            for t in tasks if t.instance_id in projects]
    if search:
        rows = [r for r in rows if r.project.matches(search)]
    if light in LIGHTS:
        rows = [r for r in rows if r.sla.light == light]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    if sort == "created":
        rows.sort(key=lambda r: (r.created_at, r.task_id))
    elif sort == "project":
        rows.sort(key=lambda r: (r.project.name or r.project.code or "", r.created_at))
    else:
        rows.sort(key=lambda r: (r.sla.due_at or far, r.created_at, r.task_id))
    return rows[:limit]
