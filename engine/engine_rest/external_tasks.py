"""/engine-rest/external-task: Camunda's external-task API for unmodified Camunda workers (the Java, JS and Python
clients): fetchAndLock with long polling, complete, failure, bpmnError, extendLock, unlock, list, count, get.
Same services as /api/external-tasks (engine/services/jobs.py), Camunda's shapes, statuses and typed variables."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Response, current_app, request

from engine.api.session import actor, ctx, get_session, now, state, unit_of_work
from engine.engine_rest import shapes
from engine.engine_rest.blueprint import bp
from engine.engine_rest.errors import invalid_request
from engine.engine_rest.requests import body, body_int, paging, query_bool
from engine.engine_rest.variables import from_camunda, to_camunda
from engine.services import jobs
from engine.services.external_task_queries import (
    ExternalTaskFilter,
    ExternalTaskOut,
    FilteredTopic,
    count_open,
    facts_for,
    get_open,
    list_open,
    unlock,
)
from engine.services.job_polling import fetch_and_lock as poll_and_claim

LONG_POLLS = "engine.long_polls"  # shared with /api/external-tasks: at most half the server threads wait
MS_DAY = 24 * 3600 * 1000


def _worker(data: dict[str, Any]) -> str:
    worker = data.get("workerId")
    if not isinstance(worker, str) or not worker.strip():
        raise invalid_request("workerId is required (a non-empty string)")
    return worker


def _strings(item: dict[str, Any], name: str) -> tuple[str, ...]:
    value = item.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_request(f"topic filter '{name}' must be a list of strings")
    return tuple(value)


def _topic(item: Any) -> tuple[FilteredTopic, list[str] | None, bool] | None:
    """(the topic to claim, the variable names to return or None for all, extension properties?); None when
    the topic's filters can match no job here (tenants and version tags do not exist in this engine)."""
    if not isinstance(item, dict) or not isinstance(item.get("topicName"), str) or not item["topicName"].strip():
        raise invalid_request("each topic needs a topicName")
    lock = body_int(item, "lockDuration", minimum=1)
    if lock is None:
        raise invalid_request(f"topic {item['topicName']}: lockDuration (milliseconds) is required")
    names = item.get("variables")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise invalid_request("a topic's 'variables' must be a list of variable names")
    if item.get("processVariables"):
        raise invalid_request("the processVariables filter of fetchAndLock is not supported by this engine")
    if _strings(item, "tenantIdIn") or item.get("processDefinitionVersionTag"):
        return None  # no job has a tenant or a version tag here: Camunda would find none either
    ids = tuple(shapes.parse_definition_id(i) for i in (*_strings(item, "processDefinitionId"),
                                                          *_strings(item, "processDefinitionIdIn")))
    keys = (*_strings(item, "processDefinitionKey"), *_strings(item, "processDefinitionKeyIn"))
    business_key = item.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise invalid_request("a topic's businessKey must be a string")
    topic = FilteredTopic(item["topicName"], timedelta(milliseconds=min(lock, MS_DAY)), business_key=business_key,
                          definition_keys=tuple(keys), definition_ids=ids)
    return topic, names, bool(item.get("includeExtensionProperties"))


@bp.post("/external-task/fetchAndLock")
def fetch_and_lock() -> Any:
    """Lock up to maxTasks jobs (capped at 100 per call); with asyncResponseTimeout (ms) wait up to that long,
    capped by `[workers] long_poll_seconds`. Order: priority, then age (usePriority and sorting accepted)."""
    data = body()
    worker = _worker(data)
    max_tasks = body_int(data, "maxTasks", default=1) or 0
    timeout_ms = body_int(data, "asyncResponseTimeout", default=0) or 0
    topics_in = data.get("topics")
    if not isinstance(topics_in, list) or not topics_in:
        raise invalid_request("topics must be a non-empty list of {topicName, lockDuration}")
    chosen = [t for t in (_topic(item) for item in topics_in) if t is not None]
    if max_tasks == 0 or not chosen:
        return []
    settings = state().settings.workers
    wait = min(timeout_ms / 1000, settings.long_poll_seconds)
    threads = state().settings.server.threads
    slots: threading.BoundedSemaphore = current_app.extensions.setdefault(
        LONG_POLLS, threading.BoundedSemaphore(max(1, threads // 2)))
    waiting = wait > 0 and slots.acquire(blocking=False)
    try:
        claimed = poll_and_claim(state().sessions, ctx(), state().clock.now, [t for t, _, _ in chosen],
                                 worker=worker, max_jobs=min(max_tasks, jobs.MAX_CLAIM),
                                 wait=wait if waiting else 0.0, poll_interval=settings.poll_interval_seconds)
    finally:
        if waiting:
            slots.release()
    with state().sessions() as session:
        facts = facts_for(session, [j.id for j in claimed])
    items = []
    for job in claimed:
        _topic_request, names, extension = next(c for c in chosen if c[0].matches(job.topic))
        out = ExternalTaskOut(job, facts[job.id])
        items.append(shapes.locked_external_task(out, to_camunda(job.variables or {}, names), worker=worker,
                                                 extension_properties=extension))
    return items


def _no_content() -> Response:
    return Response(status=204)


@bp.post("/external-task/<job_id>/complete")
@unit_of_work
def complete_external_task(job_id: str) -> Response:
    """`localVariables` are dropped: in Camunda they live on the task's own scope, which ends with it."""
    data = body()
    variables = from_camunda(data.get("variables"))
    from_camunda(data.get("localVariables"), "localVariables")  # still checked: a malformed body is a 400
    jobs.complete(get_session(), ctx(), job_id, variables, worker=_worker(data), actor=actor(), now=now())
    return _no_content()


@bp.post("/external-task/<job_id>/failure")
@unit_of_work
def failure(job_id: str) -> Response:
    """Camunda's DTO has primitive `retries` and `retryTimeout`: absent means 0 (an incident, at once)."""
    data = body()
    if from_camunda(data.get("variables")) or from_camunda(data.get("localVariables"), "localVariables"):
        raise invalid_request("variables on a failure report are not supported by this engine")
    retries = body_int(data, "retries", default=0)
    timeout = body_int(data, "retryTimeout", default=0) or 0
    message = data.get("errorMessage")
    details = data.get("errorDetails")
    if message is not None and not isinstance(message, str):
        raise invalid_request("errorMessage must be a string")
    jobs.fail(get_session(), ctx(), job_id, worker=_worker(data), actor=actor(), now=now(),
              error_message=message if message and message.strip() else "(no errorMessage)",
              error_details=details if isinstance(details, str) else None if details is None else str(details),
              retries=retries, retry_delay=timedelta(milliseconds=timeout))
    return _no_content()


@bp.post("/external-task/<job_id>/bpmnError")
@unit_of_work
def bpmn_error(job_id: str) -> Response:
    data = body()
    code = data.get("errorCode")
    if not isinstance(code, str) or not code.strip():
        raise invalid_request("errorCode is required")
    message = data.get("errorMessage")
    jobs.bpmn_error(get_session(), ctx(), job_id, code, message=message if isinstance(message, str) else "",
                    variables=from_camunda(data.get("variables")), worker=_worker(data), actor=actor(), now=now())
    return _no_content()


@bp.post("/external-task/<job_id>/extendLock")
@unit_of_work
def extend_lock(job_id: str) -> Response:
    data = body()
    duration = body_int(data, "newDuration", minimum=1)
    if duration is None:
        raise invalid_request("newDuration (milliseconds) is required")
    jobs.extend_lock(get_session(), job_id, worker=_worker(data), duration=timedelta(milliseconds=duration),
                     now=now())
    return _no_content()


@bp.post("/external-task/<job_id>/unlock")
@unit_of_work
def unlock_job(job_id: str) -> Response:
    unlock(get_session(), ctx(), job_id)
    return _no_content()


def _filters() -> ExternalTaskFilter:
    locked, not_locked = query_bool("locked"), query_bool("notLocked")
    with_retries, no_retries = query_bool("withRetriesLeft"), query_bool("noRetriesLeft")
    return ExternalTaskFilter(
        job_id=request.args.get("externalTaskId"), topic=request.args.get("topicName"),
        worker=request.args.get("workerId"), instance_id=request.args.get("processInstanceId"),
        activity_id=request.args.get("activityId"),
        locked=True if locked else False if not_locked else None,
        retries_left=True if with_retries else False if no_retries else None)


@bp.get("/external-task")
def list_external_tasks() -> Any:
    first, most = paging()
    return [shapes.external_task(t) for t in list_open(get_session(), _filters(), now=now(), offset=first,
                                                       limit=most)]


@bp.get("/external-task/count")
def count_external_tasks() -> dict[str, int]:
    return {"count": count_open(get_session(), _filters(), now=now())}


@bp.get("/external-task/<job_id>")
def get_external_task(job_id: str) -> dict[str, Any]:
    return shapes.external_task(get_open(get_session(), job_id, now=now()))
