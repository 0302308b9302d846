"""/api/external-tasks: workers fetch-and-lock jobs (long polling), then complete, fail, raise a BPMN error or
extend the lock. Durations are milliseconds, as in Camunda's external-task API."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from apiflask import APIBlueprint
from flask import current_app
from flask.blueprints import BlueprintSetupState

from engine.api.openapi import COMMAND, problems
from engine.api.schemas.jobs import (BpmnErrorIn, CompleteJobIn, ExtendLockIn, FailureIn, FetchAndLockIn, Job,
                                     JobPage, JobQuery, LockedJobs)
from engine.api.session import actor, ctx, get_session, now, state, unit_of_work
from engine.services import jobs
from engine.services.job_polling import fetch_and_lock as poll_and_claim

bp = APIBlueprint("external_tasks", __name__, url_prefix="/api/external-tasks", tag="External tasks")
LONG_POLLS = "engine.long_polls"
JOB_REPORT = problems(*COMMAND, s409="`job-not-claimed`: another worker holds the job; `job-not-open`: it is "
                                     "finished or its task was cancelled")


@bp.record_once
def _init(setup: BlueprintSetupState) -> None:
    # Long polls hold a server thread: at most half of them wait at once; the rest answer immediately.
    threads = setup.app.extensions["engine"].settings.server.threads
    setup.app.extensions[LONG_POLLS] = threading.BoundedSemaphore(max(1, threads // 2))


@bp.get("")
@bp.input(JobQuery, location="query", arg_name="query")
@bp.output(JobPage)
def list_jobs(query: JobQuery) -> dict[str, Any]:
    """Jobs (without their variables), by topic, instance or status"""
    rows = jobs.list_jobs(get_session(), topic=query.topic_name, instance_id=query.process_instance_id,
                          status=query.status, offset=query.offset, limit=query.limit)
    return {"items": [j.to_json() for j in rows], "offset": query.offset, "limit": query.limit}


@bp.get("/<job_id>")
@bp.output(Job)
def get_job(job_id: str) -> dict[str, Any]:
    """One job (without its variables)"""
    return jobs.describe(get_session(), job_id).to_json()


@bp.post("/fetch-and-lock")
@bp.input(FetchAndLockIn, arg_name="body")
@bp.output(LockedJobs)
@bp.doc(responses=problems(503))
def fetch_and_lock(body: FetchAndLockIn) -> dict[str, Any]:
    """Lock up to `maxTasks` jobs of the topics

    Highest priority first, then oldest. With `asyncResponseTimeout` (ms) the request waits up to that long
    (capped by `[workers] long_poll_seconds`) for a job to appear; `items` is empty when none did.
    """
    topics = [jobs.TopicRequest(t.topic_name, timedelta(milliseconds=t.lock_duration)) for t in body.topics]
    settings = state().settings.workers
    wait = min(body.async_response_timeout / 1000, settings.long_poll_seconds)
    slots: threading.BoundedSemaphore = current_app.extensions[LONG_POLLS]
    waiting = wait > 0 and slots.acquire(blocking=False)
    try:
        claimed = poll_and_claim(state().sessions, ctx(), state().clock.now, topics, worker=body.worker_id,
                                 max_jobs=body.max_tasks, wait=wait if waiting else 0.0,
                                 poll_interval=settings.poll_interval_seconds)
    finally:
        if waiting:
            slots.release()
    return {"items": [j.to_json() for j in claimed]}


@bp.post("/<job_id>/complete")
@unit_of_work
@bp.input(CompleteJobIn, arg_name="body")
@bp.output(Job)
@bp.doc(responses=JOB_REPORT)
def complete(job_id: str, body: CompleteJobIn) -> dict[str, Any]:
    """The job's result: its variables complete the service task and the instance moves on"""
    return jobs.complete(get_session(), ctx(), job_id, body.variables or {}, worker=body.worker_id,
                         actor=actor(), now=now()).to_json()


@bp.post("/<job_id>/failure")
@unit_of_work
@bp.input(FailureIn, arg_name="body")
@bp.output(Job)
@bp.doc(responses=JOB_REPORT)
def failure(job_id: str, body: FailureIn) -> dict[str, Any]:
    """A technical failure: `retries` remaining (0 opens an incident), again after `retryTimeout` ms

    Without them the Camunda client rule applies (the first failure keeps the job's retries, later ones lower
    them) and `[workers] retry_delay_seconds`.
    """
    delay = timedelta(milliseconds=body.retry_timeout) if body.retry_timeout is not None else None
    return jobs.fail(get_session(), ctx(), job_id, worker=body.worker_id, actor=actor(), now=now(),
                     error_message=body.error_message, error_details=body.error_details, retries=body.retries,
                     retry_delay=delay).to_json()


@bp.post("/<job_id>/bpmn-error")
@unit_of_work
@bp.input(BpmnErrorIn, arg_name="body")
@bp.output(Job)
@bp.doc(responses=JOB_REPORT)
def bpmn_error(job_id: str, body: BpmnErrorIn) -> dict[str, Any]:
    """A business error for the error boundary event on that service task; uncaught, it opens an incident"""
    return jobs.bpmn_error(get_session(), ctx(), job_id, body.error_code, message=body.error_message,
                           variables=body.variables or {}, worker=body.worker_id, actor=actor(),
                           now=now()).to_json()


@bp.post("/<job_id>/extend-lock")
@unit_of_work
@bp.input(ExtendLockIn, arg_name="body")
@bp.output(Job)
@bp.doc(responses=JOB_REPORT)
def extend_lock(job_id: str, body: ExtendLockIn) -> dict[str, Any]:
    """Keep a long-running job: its lock now expires `newDuration` ms from now"""
    return jobs.extend_lock(get_session(), job_id, worker=body.worker_id,
                            duration=timedelta(milliseconds=body.new_duration), now=now()).to_json()
