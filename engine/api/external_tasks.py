"""/api/external-tasks: workers fetch-and-lock jobs (long polling), then complete, fail, raise a BPMN error or
extend the lock. Durations are milliseconds, as in Camunda's external-task API."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, request
from flask.blueprints import BlueprintSetupState

from engine.api.requests import json_body, object_field, page
from engine.api.session import actor, ctx, get_session, now, state, unit_of_work
from engine.errors import InvalidInput
from engine.services import jobs
from engine.services.job_polling import fetch_and_lock as poll_and_claim

bp = Blueprint("external_tasks", __name__, url_prefix="/api/external-tasks")
LONG_POLLS = "engine.long_polls"


@bp.record_once
def _init(setup: BlueprintSetupState) -> None:
    # Long polls hold a server thread: at most half of them wait at once; the rest answer immediately.
    threads = setup.app.extensions["engine"].settings.server.threads
    setup.app.extensions[LONG_POLLS] = threading.BoundedSemaphore(max(1, threads // 2))


def _int(body: dict[str, Any], name: str, *, default: int | None = None, minimum: int = 0) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{name} must be an integer >= {minimum}")
    return value


def _worker(body: dict[str, Any]) -> str:
    worker = body.get("workerId")
    if not isinstance(worker, str) or not worker.strip():
        raise InvalidInput("workerId is required")
    return worker


def _topics(body: dict[str, Any]) -> list[jobs.TopicRequest]:
    topics = body.get("topics")
    if not isinstance(topics, list) or not topics:
        raise InvalidInput("topics must be a non-empty list of {topicName, lockDuration}")
    requests = []
    for item in topics:
        if not isinstance(item, dict) or not isinstance(item.get("topicName"), str):
            raise InvalidInput("each topic needs a topicName (string) and a lockDuration (milliseconds)")
        requests.append(jobs.TopicRequest(item["topicName"],
                                          timedelta(milliseconds=_int(item, "lockDuration", minimum=1))))
    return requests


@bp.get("")
def list_jobs() -> dict[str, Any]:
    offset, limit = page()
    rows = jobs.list_jobs(get_session(), topic=request.args.get("topicName"),
                          instance_id=request.args.get("processInstanceId"), status=request.args.get("status"),
                          offset=offset, limit=limit)
    return {"items": [j.to_json() for j in rows], "offset": offset, "limit": limit}


@bp.get("/<job_id>")
def get_job(job_id: str) -> dict[str, Any]:
    return jobs.describe(get_session(), job_id).to_json()


@bp.post("/fetch-and-lock")
def fetch_and_lock() -> dict[str, Any]:
    """Claim up to maxTasks jobs; with asyncResponseTimeout (ms), wait up to that long (capped by
    `[workers] long_poll_seconds`) for one to appear."""
    body = json_body()
    worker, topics = _worker(body), _topics(body)
    max_jobs = _int(body, "maxTasks", default=1, minimum=1)
    settings = state().settings.workers
    wait = min(_int(body, "asyncResponseTimeout", default=0) / 1000, settings.long_poll_seconds)
    slots: threading.BoundedSemaphore = current_app.extensions[LONG_POLLS]
    waiting = wait > 0 and slots.acquire(blocking=False)
    try:
        claimed = poll_and_claim(state().sessions, ctx(), state().clock.now, topics, worker=worker,
                                 max_jobs=max_jobs, wait=wait if waiting else 0.0,
                                 poll_interval=settings.poll_interval_seconds)
    finally:
        if waiting:
            slots.release()
    return {"items": [j.to_json() for j in claimed]}


@bp.post("/<job_id>/complete")
@unit_of_work
def complete(job_id: str) -> dict[str, Any]:
    body = json_body()
    return jobs.complete(get_session(), ctx(), job_id, object_field(body, "variables"), worker=_worker(body),
                         actor=actor(), now=now()).to_json()


@bp.post("/<job_id>/failure")
@unit_of_work
def failure(job_id: str) -> dict[str, Any]:
    body = json_body()
    retries = body.get("retries")
    timeout = body.get("retryTimeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0):
        raise InvalidInput("retryTimeout must be an integer number of milliseconds >= 0")
    return jobs.fail(get_session(), ctx(), job_id, worker=_worker(body), actor=actor(), now=now(),
                     error_message=body.get("errorMessage"), error_details=body.get("errorDetails"),
                     retries=retries, retry_delay=timedelta(milliseconds=timeout) if timeout is not None else None
                     ).to_json()


@bp.post("/<job_id>/bpmn-error")
@unit_of_work
def bpmn_error(job_id: str) -> dict[str, Any]:
    body = json_body()
    return jobs.bpmn_error(get_session(), ctx(), job_id, body.get("errorCode"),
                           message=body.get("errorMessage") or "", variables=object_field(body, "variables"),
                           worker=_worker(body), actor=actor(), now=now()).to_json()


@bp.post("/<job_id>/extend-lock")
@unit_of_work
def extend_lock(job_id: str) -> dict[str, Any]:
    body = json_body()
    duration = timedelta(milliseconds=_int(body, "newDuration", minimum=1))
    return jobs.extend_lock(get_session(), job_id, worker=_worker(body), duration=duration, now=now()).to_json()
