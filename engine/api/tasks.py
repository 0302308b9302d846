"""/api/tasks: list, get (with its form schema), claim, unclaim, complete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from engine.api.requests import json_body, object_field, page
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.dto import TaskOut
from engine.services import human_tasks

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
    )
    return {"items": [t.to_json() for t in rows], "offset": offset, "limit": limit}


@bp.get("/<task_id>")
def get_task(task_id: str) -> dict[str, Any]:
    session = get_session()
    task = human_tasks.get_task(session, task_id)
    return {**TaskOut.from_model(task).to_json(), "form_schema": human_tasks.form_schema(session, task)}


@bp.post("/<task_id>/claim")
@unit_of_work
def claim(task_id: str) -> dict[str, Any]:
    assignee = json_body().get("assignee")
    return human_tasks.claim(get_session(), ctx(), task_id, actor=actor(), now=now(),
                             assignee=str(assignee) if assignee else None).to_json()


@bp.post("/<task_id>/unclaim")
@unit_of_work
def unclaim(task_id: str) -> dict[str, Any]:
    return human_tasks.unclaim(get_session(), ctx(), task_id, actor=actor(), now=now()).to_json()


@bp.post("/<task_id>/complete")
@unit_of_work
def complete(task_id: str) -> dict[str, Any]:
    variables = object_field(json_body(), "variables")
    return human_tasks.complete(get_session(), ctx(), task_id, variables, actor=actor(), now=now()).to_json()
