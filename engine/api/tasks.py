"""/api/tasks: list, get (with its form schema), claim, unclaim, complete, transfer.

Scoped by engine/auth/policy.py: a clerk sees and works their departments' tasks only.
"""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from engine.api.access import current_principal
from engine.api.openapi import COMMAND, problems
from engine.api.schemas.tasks import ClaimIn, CompleteTaskIn, Task, TaskDetail, TaskPage, TaskQuery, TransferIn
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.auth import accounts, policy
from engine.errors import Forbidden, InvalidInput
from engine.models import HumanTask
from engine.services import calendars, human_tasks, sla

bp = APIBlueprint("tasks", __name__, url_prefix="/api/tasks", tag="Tasks")


@bp.get("")
@bp.input(TaskQuery, location="query", arg_name="query")
@bp.output(TaskPage)
def list_tasks(query: TaskQuery) -> dict[str, Any]:
    """User tasks the caller may see: by candidate group (department), assignee or instance"""
    rows = human_tasks.list_tasks(
        get_session(),
        status=query.status or None,
        candidate_group=query.candidate_group,
        assignee=query.assignee,
        instance_id=query.process_instance_id,
        offset=query.offset,
        limit=query.limit,
        scope=policy.task_scope(current_principal()),
        now=now(),
        calendar=calendars.current(get_session(), ctx()),
    )
    return {"items": [t.to_json() for t in rows], "offset": query.offset, "limit": query.limit}


@bp.get("/<task_id>")
@bp.output(TaskDetail)
def get_task(task_id: str) -> dict[str, Any]:
    """A task with its form's JSON Schema"""
    session = get_session()
    task = human_tasks.get_task(session, task_id)
    policy.require_task(current_principal(), task)
    out = sla.task_out(task, now(), calendars.current(session, ctx()))
    return {**out.to_json(), "form_schema": human_tasks.form_schema(session, task)}


@bp.post("/<task_id>/claim")
@unit_of_work
@bp.input(ClaimIn, arg_name="body")
@bp.output(Task)
@bp.doc(responses=problems(*COMMAND))
def claim(task_id: str, body: ClaimIn) -> dict[str, Any]:
    """Claim a task for yourself (a clerk of one of its departments)"""
    assignee = body.assignee
    _workable(task_id)
    if assignee and assignee != actor():
        raise Forbidden("a clerk claims a task for themself; hand it to a colleague with /transfer")
    return human_tasks.claim(get_session(), ctx(), task_id, actor=actor(), now=now(),
                             assignee=str(assignee) if assignee else None).to_json()


@bp.post("/<task_id>/unclaim")
@unit_of_work
@bp.output(Task)
@bp.doc(responses=problems(*COMMAND))
def unclaim(task_id: str) -> dict[str, Any]:
    """Release a task you hold"""
    task = _workable(task_id)
    if task.assignee not in (None, actor()):
        raise Forbidden(f"only {task.assignee} may release this task (or a leader transfers it)")
    return human_tasks.unclaim(get_session(), ctx(), task_id, actor=actor(), now=now()).to_json()


@bp.post("/<task_id>/complete")
@unit_of_work
@bp.input(CompleteTaskIn, arg_name="body")
@bp.output(Task)
@bp.doc(responses=problems(*COMMAND, s409="the task is no longer open (completed, cancelled by a timer, "
                                          "claimed by someone else)"))
def complete(task_id: str, body: CompleteTaskIn) -> dict[str, Any]:
    """Complete a task with its form data

    422 `form-invalid` lists each field's problem in Chinese (`errors`).
    """
    _workable(task_id)
    return human_tasks.complete(get_session(), ctx(), task_id, body.variables or {}, actor=actor(),
                                now=now()).to_json()


@bp.post("/<task_id>/transfer")
@unit_of_work
@bp.input(TransferIn, arg_name="body")
@bp.output(Task)
@bp.doc(responses=problems(*COMMAND))
def transfer(task_id: str, body: TransferIn) -> dict[str, Any]:
    """Hand a task to an active clerk of one of its departments (转办): its holder, or a leader"""
    to_user = body.assignee.strip()
    reason = body.reason.strip()
    session = get_session()
    task = human_tasks.get_task(session, task_id)
    principal = current_principal()
    policy.require_task(principal, task)
    if not policy.can_transfer_task(principal, task):
        raise Forbidden(f"{principal.username} may not transfer task {task_id}")
    require_colleague(session, task, to_user)
    return human_tasks.transfer(session, ctx(), task_id, to_user, actor=actor(), now=now(), reason=reason).to_json()


def require_colleague(session: Any, task: HumanTask, to_user: str) -> None:
    """A transfer target is an active clerk of one of the task's departments."""
    if not to_user:
        raise InvalidInput("'assignee' names the colleague to transfer to")
    if to_user not in {u.username for u in accounts.colleagues(session, task.candidate_groups or [])}:
        raise InvalidInput(f"{to_user} is not an active clerk of {', '.join(task.candidate_groups or [])}")


def _workable(task_id: str) -> HumanTask:
    task = human_tasks.get_task(get_session(), task_id)
    principal = current_principal()
    policy.require_task(principal, task)
    policy.require_task(principal, task, work=True)
    return task
