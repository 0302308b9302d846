"""/api/tasks: list, get (with its form schema), claim, unclaim, complete, transfer.

Scoped by engine/auth/policy.py: a clerk sees and works their departments' tasks only.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.access import current_principal
from engine.api.requests import json_body, object_field, page
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.auth import accounts, policy
from engine.errors import Forbidden, InvalidInput
from engine.models import HumanTask
from engine.services import calendars, human_tasks, sla

bp = Blueprint("tasks", __name__, url_prefix="/api/tasks")


@bp.get("")
def list_tasks() -> dict[str, Any]:
    offset, limit = page()
    rows = human_tasks.list_tasks(
        get_session(),
        status=request.args.get("status", "open") or None,
        candidate_group=request.args.get("candidateGroup"),
        assignee=request.args.get("assignee"),
        instance_id=request.args.get("processInstanceId"),
        offset=offset,
        limit=limit,
        scope=policy.task_scope(current_principal()),
        now=now(),
        calendar=calendars.current(get_session(), ctx()),
    )
    return {"items": [t.to_json() for t in rows], "offset": offset, "limit": limit}


@bp.get("/<task_id>")
def get_task(task_id: str) -> dict[str, Any]:
    session = get_session()
    task = human_tasks.get_task(session, task_id)
    policy.require_task(current_principal(), task)
    out = sla.task_out(task, now(), calendars.current(session, ctx()))
    return {**out.to_json(), "form_schema": human_tasks.form_schema(session, task)}


@bp.post("/<task_id>/claim")
@unit_of_work
def claim(task_id: str) -> dict[str, Any]:
    assignee = json_body().get("assignee")
    _workable(task_id)
    if assignee and assignee != actor():
        raise Forbidden("a clerk claims a task for themself; hand it to a colleague with /transfer")
    return human_tasks.claim(get_session(), ctx(), task_id, actor=actor(), now=now(),
                             assignee=str(assignee) if assignee else None).to_json()


@bp.post("/<task_id>/unclaim")
@unit_of_work
def unclaim(task_id: str) -> dict[str, Any]:
    task = _workable(task_id)
    if task.assignee not in (None, actor()):
        raise Forbidden(f"only {task.assignee} may release this task (or a leader transfers it)")
    return human_tasks.unclaim(get_session(), ctx(), task_id, actor=actor(), now=now()).to_json()


@bp.post("/<task_id>/complete")
@unit_of_work
def complete(task_id: str) -> dict[str, Any]:
    _workable(task_id)
    variables = object_field(json_body(), "variables")
    return human_tasks.complete(get_session(), ctx(), task_id, variables, actor=actor(), now=now()).to_json()


@bp.post("/<task_id>/transfer")
@unit_of_work
def transfer(task_id: str) -> dict[str, Any]:
    body = json_body()
    to_user = str(body.get("assignee") or "").strip()
    reason = str(body.get("reason") or "").strip()
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
