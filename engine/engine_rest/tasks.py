"""/engine-rest/task: Camunda's user-task API over the clerks' services: list (candidateGroup, assignee,
processInstanceId, …), count, get, claim, unclaim, complete (typed variables, validated against the task's form).
Scoped exactly as /api/tasks (engine/auth/policy.py)."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from engine.api.access import current_principal
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.auth import policy
from engine.dto import TaskOut
from engine.engine_rest import shapes
from engine.engine_rest.blueprint import bp
from engine.engine_rest.requests import body, paging, query_bool
from engine.engine_rest.errors import invalid_request
from engine.engine_rest.variables import from_camunda
from engine.errors import Forbidden
from engine.models import HumanTask, ProcessDefinition, ProcessInstance
from engine.services import human_tasks


def _definitions(session: Any, instance_ids: set[str]) -> dict[str, tuple[str, int, int]]:
    """instance id -> (key, version, definition id), for the tasks' processDefinitionId."""
    result: dict[str, tuple[str, int, int]] = {}
    for instance_id in instance_ids:
        instance = session.get(ProcessInstance, instance_id)
        definition = session.get(ProcessDefinition, instance.definition_id) if instance else None
        if definition is not None:
            result[instance_id] = (definition.process_key, definition.version, definition.id)
    return result


def _matching() -> list[TaskOut]:
    rows: list[TaskOut] = []
    while True:  # the service pages by MAX_PAGE; Camunda's filters below need every open task in scope
        page = human_tasks.list_tasks(
            get_session(), candidate_group=request.args.get("candidateGroup") or None,
            assignee=request.args.get("assignee") or None,
            instance_id=request.args.get("processInstanceId") or None, offset=len(rows),
            limit=human_tasks.MAX_PAGE, scope=policy.task_scope(current_principal()))
        rows += page
        if len(page) < human_tasks.MAX_PAGE:
            break
    if query_bool("unassigned"):
        rows = [t for t in rows if t.assignee is None]
    if query_bool("assigned"):
        rows = [t for t in rows if t.assignee is not None]
    for name, attribute in (("taskDefinitionKey", "bpmn_id"), ("name", "name")):
        if request.args.get(name):
            rows = [t for t in rows if getattr(t, attribute) == request.args[name]]
    if request.args.get("processDefinitionKey"):
        session = get_session()
        keys = {t.instance_id: session.get(ProcessInstance, t.instance_id).process_key for t in rows}
        rows = [t for t in rows if keys[t.instance_id] == request.args["processDefinitionKey"]]
    return rows


@bp.get("/task")
def list_tasks() -> list[dict[str, Any]]:
    first, most = paging()
    rows = _matching()
    rows = rows[first: first + most if most is not None else None]
    definitions = _definitions(get_session(), {t.instance_id for t in rows})
    return [shapes.task(t, definitions.get(t.instance_id)) for t in rows]


@bp.get("/task/count")
def count_tasks() -> dict[str, int]:
    return {"count": len(_matching())}


def _task(task_id: str, *, work: bool = False) -> HumanTask:
    task = human_tasks.get_task(get_session(), task_id)
    policy.require_task(current_principal(), task, work=work)
    return task


@bp.get("/task/<task_id>")
def get_task(task_id: str) -> dict[str, Any]:
    task = _task(task_id)
    return shapes.task(TaskOut.from_model(task), _definitions(get_session(), {task.instance_id}).get(task.instance_id))


@bp.post("/task/<task_id>/claim")
@unit_of_work
def claim_task(task_id: str) -> Response:
    """Camunda's claim names the user; a clerk claims for themself (hand a task over with /api/.../transfer)."""
    user = body().get("userId")
    _task(task_id, work=True)
    if user is not None and user != actor():
        raise Forbidden(f"{actor()} may claim task {task_id} only for themself, not for {user!r}")
    human_tasks.claim(get_session(), ctx(), task_id, actor=actor(), now=now())
    return Response(status=204)


@bp.post("/task/<task_id>/unclaim")
@unit_of_work
def unclaim_task(task_id: str) -> Response:
    task = _task(task_id, work=True)
    if task.assignee not in (None, actor()):
        raise Forbidden(f"only {task.assignee} may release task {task_id}")
    human_tasks.unclaim(get_session(), ctx(), task_id, actor=actor(), now=now())
    return Response(status=204)


@bp.post("/task/<task_id>/complete")
@unit_of_work
def complete_task(task_id: str) -> Response:
    """204. `withVariablesInReturn` is refused: task data lives on Spiff's tasks, and the engine has no single
    "current variables" of a running instance to return (its history has every value)."""
    data = body()
    if data.get("withVariablesInReturn"):
        raise invalid_request("withVariablesInReturn is not supported on task completion; read the history")
    variables = from_camunda(data.get("variables"))
    _task(task_id, work=True)
    human_tasks.complete(get_session(), ctx(), task_id, variables, actor=actor(), now=now())
    return Response(status=204)
