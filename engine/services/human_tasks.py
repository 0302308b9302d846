"""Clerks' work items: list, claim, unclaim and complete (validated against the task's form)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.auth.policy import TaskScope
from engine.bpmn import runtime
from engine.calendar import WorkCalendar
from engine.dto import TaskOut
from engine.errors import InstanceNotRunning, InvalidInput, TaskAlreadyCompleted, TaskClaimedByOther, TaskNotFound
from engine.models import (
    EventKind,
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    TaskDraft,
)
from engine.services import core_rows, event_batch, execution, sla
from engine.services.context import EngineContext
from engine.services.forms import validate_form

MAX_PAGE = 200


def list_tasks(session: Session, *, status: str | None = HumanTaskStatus.OPEN, candidate_group: str | None = None,
               assignee: str | None = None, instance_id: str | None = None, offset: int = 0,
               limit: int = 50, scope: TaskScope | None = None, now: datetime | None = None,
               calendar: WorkCalendar | None = None) -> list[TaskOut]:
    """Open tasks by default; with `now` and `calendar` each review task carries its SLA (remaining, light)."""
    query = select(HumanTask).order_by(HumanTask.created_at, HumanTask.id)
    if status:
        query = query.where(HumanTask.status == status)
    if assignee:
        query = query.where(HumanTask.assignee == assignee)
    if instance_id:
        query = query.where(HumanTask.instance_id == instance_id)
    rows = session.scalars(query).all()
    if candidate_group:
        # candidate_groups is a small JSON list; filtering in Python keeps the query portable.
        rows = [r for r in rows if candidate_group in (r.candidate_groups or [])]
    if scope is not None:
        rows = [r for r in rows if scope.admits(r.candidate_groups or [], r.assignee)]
    rows = rows[offset: offset + min(limit, MAX_PAGE)]
    if now is not None and calendar is not None:
        return [sla.task_out(r, now, calendar) for r in rows]
    return [TaskOut.from_model(r) for r in rows]


def get_task(session: Session, task_id: str) -> HumanTask:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise TaskNotFound(f"no task {task_id}")
    return task


def form_schema(session: Session, task: HumanTask) -> dict[str, Any] | None:
    if not task.form_key:
        return None
    # Only the forms column: the definition row also holds the BPMN source (~300 KB for the approval processes).
    forms = session.scalar(
        select(ProcessDefinition.forms).join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
        .where(ProcessInstance.id == task.instance_id))
    return forms.get(task.form_key) if forms is not None else None


# Both rows in one statement, built once (as jobs._LOCKED_JOB): FOR UPDATE without OF locks the row of every table
# in FROM, in FROM order on PostgreSQL: the instance first, as every command takes it, then the task row (which
# only commands holding the instance lock change). A lock that waited re-reads both rows' latest versions, so the
# task is read fresh under the lock: another command may have closed it.
_LOCKED_TASK = core_rows.LockedRead(
    (ProcessInstance, HumanTask),
    ProcessInstance.__table__.join(HumanTask.__table__, HumanTask.__table__.c.instance_id == ProcessInstance.id),
    HumanTask.__table__.c.id == bindparam("task_id"), head=event_batch.known_head)


def _locked_open_task(session: Session, task_id: str) -> tuple[HumanTask, ProcessInstance]:
    row = _LOCKED_TASK.load(session, {"task_id": task_id})
    if row is None:
        raise TaskNotFound(f"no task {task_id}")
    instance, task = row
    if task.status != HumanTaskStatus.OPEN:
        who = f" by {task.completed_by}" if task.completed_by else ""
        when = f" at {task.completed_at.isoformat()}" if task.completed_at else ""
        raise TaskAlreadyCompleted(f"{task.bpmn_id} in instance {task.instance_id} was {task.status}{who}{when}",
                                   completed_by=task.completed_by, task_status=task.status)
    if instance.status != InstanceStatus.RUNNING:
        raise InstanceNotRunning(f"instance {instance.id} is {instance.status}")
    return task, instance


def claim(session: Session, ctx: EngineContext, task_id: str, *, actor: str, now: datetime,
          assignee: str | None = None) -> TaskOut:
    task, instance = _locked_open_task(session, task_id)
    user = assignee or actor
    if task.assignee and task.assignee != user:
        raise TaskClaimedByOther(f"{task.bpmn_id} is claimed by {task.assignee}", assignee=task.assignee)
    if task.assignee != user:
        task.assignee = user
        execution.record(session, ctx, instance.id, EventKind.TASK_CLAIMED, actor=actor, now=now,
                         payload={"task_id": task.id, "bpmn_id": task.bpmn_id, "assignee": user})
    session.flush()
    return TaskOut.from_model(task)


def unclaim(session: Session, ctx: EngineContext, task_id: str, *, actor: str, now: datetime) -> TaskOut:
    task, instance = _locked_open_task(session, task_id)
    if task.assignee is not None:
        execution.record(session, ctx, instance.id, EventKind.TASK_UNCLAIMED, actor=actor, now=now,
                         payload={"task_id": task.id, "bpmn_id": task.bpmn_id, "previous": task.assignee})
        task.assignee = None
    session.flush()
    return TaskOut.from_model(task)


def complete(session: Session, ctx: EngineContext, task_id: str, data: dict[str, Any], *, actor: str,
             now: datetime) -> TaskOut:
    """Validate, then complete under the instance lock; 409 only if the task is no longer open."""
    task, instance = _locked_open_task(session, task_id)
    if task.assignee and task.assignee != actor:
        raise TaskClaimedByOther(f"{task.bpmn_id} is claimed by {task.assignee}", assignee=task.assignee)
    if task.form_key:
        # The version's forms are a deploy-time snapshot: read (and decoded) once per version, not per command.
        forms = ctx.specs.forms(instance.definition_id, lambda: session.scalar(
            select(ProcessDefinition.forms).where(ProcessDefinition.id == instance.definition_id)))
        schema = forms.get(task.form_key) if forms is not None else None
        if schema is not None:
            validate_form(schema, data)
    loaded = execution.load(session, ctx, instance)
    # A deadline that has passed wins over a late completion, whether or not the scheduler has ticked yet:
    # step the engine at `now` first, and refuse if that closed the task (the tick records the firing).
    due_first = runtime.fire_due_timers(loaded.workflow, now)
    if runtime.task_state(loaded.workflow, task.spiff_task_id) != "READY":
        raise TaskAlreadyCompleted(f"{task.bpmn_id} in instance {task.instance_id} was closed by its deadline "
                                   "before this completion", task_status="deadline_passed")
    result_variable = (task.properties or {}).get("resultVariable")
    task_data = {result_variable: dict(data)} if result_variable else dict(data)
    result = runtime.complete_user_task(loaded.workflow, task.spiff_task_id, task_data, now)
    result.completed_elements[:0] = due_first.completed_elements
    # A timer that fired in that first step may have started a service task: its job must be created too
    # (issue 13: dropping it left the instance waiting forever on a job that never existed).
    result.job_requests[:0] = due_first.job_requests
    core_rows.update_object(session, task, {"status": HumanTaskStatus.COMPLETED, "completed_at": now,
                                             "completed_by": actor})
    loaded.closed_tasks.append(task)
    execution.record(session, ctx, instance.id, EventKind.TASK_COMPLETED, actor=actor, now=now,
                     payload={"task_id": task.id, "bpmn_id": task.bpmn_id, "data": data})
    execution.persist(session, ctx, loaded, result, actor=actor, now=now)
    return TaskOut.from_model(task)


def transfer(session: Session, ctx: EngineContext, task_id: str, to_user: str, *, actor: str, now: datetime,
             reason: str = "") -> TaskOut:
    """转办: hand an open task to a colleague (the caller checks that `to_user` may work it)."""
    task, instance = _locked_open_task(session, task_id)
    if not to_user:
        raise InvalidInput("name the colleague to transfer the task to")
    if task.assignee == to_user:
        raise InvalidInput(f"{task.bpmn_id} is already assigned to {to_user}")
    execution.record(session, ctx, instance.id, EventKind.TASK_TRANSFERRED, actor=actor, now=now,
                     payload={"task_id": task.id, "bpmn_id": task.bpmn_id, "from": task.assignee, "to": to_user,
                              "reason": reason})
    task.assignee = to_user
    session.flush()
    return TaskOut.from_model(task)


def save_draft(session: Session, ctx: EngineContext, task_id: str, data: dict[str, Any], *, actor: str,
               now: datetime) -> None:
    """Keep unfinished form data for an open task (not validated; recorded in history, not fed to replay)."""
    if not isinstance(data, dict):
        raise InvalidInput("draft data must be a JSON object")
    task, instance = _locked_open_task(session, task_id)
    if task.assignee and task.assignee != actor:
        raise TaskClaimedByOther(f"{task.bpmn_id} is claimed by {task.assignee}", assignee=task.assignee)
    draft = session.get(TaskDraft, task.id)
    if draft is None:
        session.add(TaskDraft(task_id=task.id, data=dict(data), saved_by=actor, saved_at=now))
    else:
        draft.data, draft.saved_by, draft.saved_at = dict(data), actor, now
    execution.record(session, ctx, instance.id, EventKind.TASK_DRAFT_SAVED, actor=actor, now=now,
                     payload={"task_id": task.id, "bpmn_id": task.bpmn_id, "data": data})
    session.flush()


def get_draft(session: Session, task_id: str) -> TaskDraft | None:
    return session.get(TaskDraft, task_id)
