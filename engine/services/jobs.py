"""Workers' use cases: fetch-and-lock (claim), complete, fail, BPMN error, extend a lock; list jobs.

Semantics are Camunda's external tasks (DESIGN.md §3.3, §6):
- `claim` locks up to N claimable jobs of the given topics for `lock_duration`: AVAILABLE ones whose
  `run_after` has passed and LOCKED ones whose lock expired. On PostgreSQL the rows are taken with
  `FOR UPDATE SKIP LOCKED`, so any number of workers claim concurrently without a leader and never share a
  job; on SQLite `BEGIN IMMEDIATE` serializes claims. A claim touches no instance and writes no history: it
  never waits for a clerk's command, and the job row keeps the owner, expiry and attempt count.
- Reports (complete, failure, BPMN error) take the command path: lock the instance, re-check under the lock
  that this worker still holds the job and its task is still open, apply, persist. A lock that expired but
  was not re-claimed still counts (Camunda does the same); a re-claimed job answers 409 to the old owner.
- A failure report sets the remaining retries and the delay; a report of 0 remaining retries opens an
  incident. Without a count from the worker the engine applies the Camunda client rule: the first failure
  keeps the job's retries (seeded by the BPMN, else `[workers] retries`), each later one lowers it by one.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from engine import metrics
from engine.bpmn import runtime
from engine.dto import JobOut
from engine.errors import InstanceNotRunning, InvalidInput, JobNotClaimed, JobNotFound, JobNotOpen
from engine.models import EventKind, IncidentKind, InstanceStatus, ProcessInstance, ServiceJob, ServiceJobStatus
from engine.services import core_rows, event_batch, execution, incidents
from engine.services.context import EngineContext
from engine.services.history import format_at
from engine.services.metered import count_on_commit

MAX_PAGE = 200
MAX_CLAIM = 100
MAX_MESSAGE = 2000
MAX_DETAILS = 64 * 1024
MAX_LOCK = timedelta(days=1)


@dataclass(frozen=True)
class TopicRequest:
    """A topic (or pattern with `*`, e.g. `permit.*`) and how long its jobs are locked once claimed."""

    topic: str
    lock_duration: timedelta

    def matches(self, topic: str) -> bool:
        return re.fullmatch(".*".join(map(re.escape, self.topic.split("*"))), topic) is not None

    def condition(self) -> Any:
        if "*" not in self.topic:
            return ServiceJob.topic == self.topic
        escaped = self.topic.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_").replace("*", "%")
        return ServiceJob.topic.like(escaped, escape="\\")


def _check_worker(worker: str) -> str:
    if not isinstance(worker, str) or not worker.strip() or len(worker) > 200:
        raise InvalidInput("workerId must be a non-empty string of at most 200 characters")
    return worker.strip()


def _check_duration(value: timedelta, name: str) -> timedelta:
    if not isinstance(value, timedelta) or value <= timedelta(0) or value > MAX_LOCK:
        raise InvalidInput(f"{name} must be more than 0 and at most {MAX_LOCK}")
    return value


def _check_variables(variables: Any) -> dict[str, Any]:
    if not isinstance(variables, dict) or not all(isinstance(k, str) for k in variables):
        raise InvalidInput("variables must be a JSON object")
    try:
        json.dumps(variables, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"variables must be plain JSON values: {exc}") from exc
    return variables


def remaining_retries(job_retries: int | None, failures: int, default: int) -> int:
    """Retries left after one more failure (Camunda's client rule): the first failure keeps the job's count
    (or `default` when the job has none), each later one lowers it; 0 means the next step is an incident."""
    current = job_retries if job_retries is not None else default
    return max(current if failures == 0 else current - 1, 0)


def claim(session: Session, ctx: EngineContext, topics: Sequence[TopicRequest], *, worker: str, max_jobs: int,
          now: datetime) -> list[JobOut]:
    """Lock up to `max_jobs` claimable jobs of `topics`, highest priority first, then oldest `run_after`, then oldest
    job, then by instance and element (`_CLAIM_ORDER`)."""
    worker = _check_worker(worker)
    if isinstance(max_jobs, bool) or not isinstance(max_jobs, int) or not 1 <= max_jobs <= MAX_CLAIM:
        raise InvalidInput(f"maxTasks must be an integer between 1 and {MAX_CLAIM}")
    if not topics:
        raise InvalidInput("name at least one topic")
    for request in topics:
        if not isinstance(request.topic, str) or not request.topic.strip() or len(request.topic) > 200:
            raise InvalidInput("a topic must be a non-empty string of at most 200 characters")
        _check_duration(request.lock_duration, "lockDuration")
    durations = [t.lock_duration for t in topics]
    params: dict[str, Any] = {"now": now, "worker": worker, "max_jobs": max_jobs,
                              **{f"lock_{i}": now + d for i, d in enumerate(durations)}}
    statement = _claim_statement(tuple(t.topic for t in topics), len(set(durations)) == 1)
    rows = core_rows.read(session, statement, params).all()
    # RETURNING has no order: the claim order (`_CLAIM_ORDER`) is the order the worker runs them in.
    rows.sort(key=lambda r: (-r.priority, r.run_after, r.created_at, r.instance_id, r.bpmn_id, r.id))
    claimed = [_claimed_out(row) for row in rows]
    if claimed:
        count_on_commit(session, metrics.JOBS, len(claimed), event="fetched")
    return claimed


_CLAIM_COLUMNS = ("id", "instance_id", "bpmn_id", "topic", "status", "priority", "retries", "failures", "attempts",
                  "lock_owner", "lock_expires_at", "run_after", "error_message", "created_at", "finished_at",
                  "finished_by", "payload")


# Highest priority, oldest run_after, then oldest job; same-moment jobs of one instance (parallel service tasks,
# timers due together) in the order of their elements, not of their random ids: the order they run in decides
# the order their results reach the instance (a join merges branch data in completion order), so a run of
# `simulate` with a seed gave other figures from time to time when it followed the ids.
_JOB = ServiceJob.__table__.c
_CLAIM_ORDER = (_JOB.priority.desc(), _JOB.run_after, _JOB.created_at, _JOB.instance_id, _JOB.bpmn_id, _JOB.id)


@functools.lru_cache(maxsize=64)
def _claim_statement(topics: tuple[str, ...], one_duration: bool) -> Any:
    """The claim as one statement (one round trip, no ORM objects): pick with SKIP LOCKED, lock, and return what
    the worker needs. Built once per topic list (a worker asks for the same topics every time); the values are
    bind parameters: now, worker, max_jobs, lock_<i> (the expiry for topic i: the first topic that matches a
    job's topic gives its lock, as `TopicRequest.matches` would)."""
    jobs, instances = ServiceJob.__table__, ProcessInstance.__table__
    conditions = [TopicRequest(topic, MAX_LOCK).condition() for topic in topics]
    at = ServiceJob.run_after.type
    now = bindparam("now", type_=at)
    claimable = or_(
        and_(jobs.c.status == ServiceJobStatus.AVAILABLE, jobs.c.run_after <= now),
        and_(jobs.c.status == ServiceJobStatus.LOCKED, jobs.c.lock_expires_at <= now),
    )
    picked = (
        select(jobs.c.id)
        .join(instances, instances.c.id == jobs.c.instance_id)
        .where(claimable, or_(*conditions), instances.c.status == InstanceStatus.RUNNING)
        .order_by(*_CLAIM_ORDER)
        .limit(bindparam("max_jobs", type_=Integer()))
        .with_for_update(skip_locked=True, of=jobs)
    )
    locks = [bindparam(f"lock_{i}", type_=at) for i in range(len(topics))]
    lock_until = locks[0] if one_duration else case(*zip(conditions, locks), else_=locks[0])
    # The instance's keys come from scalar subqueries: SQLite's RETURNING cannot name an UPDATE's FROM, and
    # leaves the outer columns unqualified, hence the alias.
    owner = instances.alias("owner")
    owner_of = owner.c.id == jobs.c.instance_id
    return (
        update(jobs)
        .where(jobs.c.id.in_(picked.scalar_subquery()))
        .values(status=ServiceJobStatus.LOCKED, lock_owner=bindparam("worker", type_=String()),
                lock_expires_at=lock_until, attempts=jobs.c.attempts + 1)
        .returning(*(jobs.c[name] for name in _CLAIM_COLUMNS),
                   select(owner.c.process_key).where(owner_of).scalar_subquery().label("owner_process_key"),
                   select(owner.c.business_key).where(owner_of).scalar_subquery().label("owner_business_key"))
    )


def _claimed_out(row: Any) -> JobOut:
    """What `JobOut.from_model(job, instance, with_variables=True)` gives, from the claim's RETURNING row."""
    def iso_or_none(value: datetime | None) -> str | None:
        return format_at(value) if value else None

    return JobOut(row.id, row.instance_id, row.owner_process_key, row.owner_business_key, row.bpmn_id, row.topic,
                  row.status, row.priority, row.retries, row.failures, row.attempts, row.lock_owner,
                  iso_or_none(row.lock_expires_at),
                  iso_or_none(row.run_after), row.error_message, iso_or_none(row.created_at),
                  iso_or_none(row.finished_at), row.finished_by, dict(row.payload))


def get_job(session: Session, job_id: str) -> ServiceJob:
    job = session.get(ServiceJob, job_id)
    if job is None:
        raise JobNotFound(f"no job {job_id}")
    return job


def describe(session: Session, job_id: str) -> JobOut:
    job = get_job(session, job_id)
    return JobOut.from_model(job, session.get(ProcessInstance, job.instance_id))


def list_jobs(session: Session, *, topic: str | None = None, instance_id: str | None = None,
              status: str | None = None, offset: int = 0, limit: int = 50) -> list[JobOut]:
    if status is not None and status not in set(ServiceJobStatus):
        raise InvalidInput(f"status must be one of {', '.join(ServiceJobStatus)}, not {status!r}")
    query = (select(ServiceJob, ProcessInstance).join(ProcessInstance, ProcessInstance.id == ServiceJob.instance_id)
             .order_by(ServiceJob.created_at, ServiceJob.id))
    if topic:
        query = query.where(ServiceJob.topic == topic)
    if instance_id:
        query = query.where(ServiceJob.instance_id == instance_id)
    if status:
        query = query.where(ServiceJob.status == status)
    rows = session.execute(query.offset(offset).limit(min(limit, MAX_PAGE))).all()
    return [JobOut.from_model(job, instance) for job, instance in rows]


# Both rows in one statement, built once: FOR UPDATE without OF locks the row of every table in FROM, in FROM
# order on PostgreSQL (the instance, then the job: the order every command takes them in); fresh values for both.
_LOCKED_JOB = core_rows.LockedRead(
    (ProcessInstance, ServiceJob),
    ProcessInstance.__table__.join(ServiceJob.__table__, ServiceJob.__table__.c.instance_id == ProcessInstance.id),
    ServiceJob.__table__.c.id == bindparam("job_id"), head=event_batch.known_head)


def _locked_job(session: Session, job_id: str, worker: str) -> tuple[ServiceJob, ProcessInstance]:
    """Lock the instance, then the job row, and check that `worker` still holds the job."""
    worker = _check_worker(worker)
    row = _LOCKED_JOB.load(session, {"job_id": job_id})
    if row is None:
        raise JobNotFound(f"no job {job_id}")
    instance, job = row
    if job.status == ServiceJobStatus.AVAILABLE:
        raise JobNotClaimed(f"job {job_id} is not locked; fetch and lock it first")
    if job.status != ServiceJobStatus.LOCKED:
        who = f" by {job.finished_by}" if job.finished_by else ""
        raise JobNotOpen(f"job {job_id} ({job.bpmn_id}) is {job.status}{who}", job_status=job.status)
    if job.lock_owner != worker:
        raise JobNotClaimed(f"job {job_id} is locked by {job.lock_owner}, not {worker}", lock_owner=job.lock_owner)
    return job, instance


def _require_running(instance: ProcessInstance) -> None:
    if instance.status != InstanceStatus.RUNNING:
        raise InstanceNotRunning(f"instance {instance.id} is {instance.status}")


def _finish(session: Session, job: ServiceJob, status: ServiceJobStatus, *, worker: str, now: datetime) -> None:
    core_rows.update_object(session, job, {"status": status, "finished_at": now, "finished_by": worker,
                                            "lock_owner": None, "lock_expires_at": None})


def complete(session: Session, ctx: EngineContext, job_id: str, variables: dict[str, Any], *, worker: str,
             actor: str, now: datetime) -> JobOut:
    """The worker's result: its variables complete the service task, and the instance moves on."""
    variables = _check_variables(variables)
    job, instance = _locked_job(session, job_id, worker)
    _require_running(instance)
    loaded = execution.load(session, ctx, instance)
    result = runtime.complete_external_task(loaded.workflow, job.spiff_task_id, variables, now)
    _finish(session, job, ServiceJobStatus.COMPLETED, worker=worker, now=now)
    loaded.closed_jobs.add(job.spiff_task_id)
    execution.record(session, ctx, instance.id, EventKind.JOB_COMPLETED, actor=actor, now=now,
                     payload={"job_id": job.id, "bpmn_id": job.bpmn_id, "topic": job.topic, "worker": worker,
                              "attempt": job.attempts, "variables": variables})
    execution.persist(session, ctx, loaded, result, actor=actor, now=now)
    count_on_commit(session, metrics.JOBS, event="completed")
    return JobOut.from_model(job, instance)


def fail(session: Session, ctx: EngineContext, job_id: str, *, worker: str, actor: str, now: datetime,
         error_message: str, error_details: str | None = None, retries: int | None = None,
         retry_delay: timedelta | None = None) -> JobOut:
    """A technical failure. `retries` = remaining retries as the worker computed them (default: see the module
    docstring); 0 opens an incident, else the job runs again after `retry_delay`."""
    if not isinstance(error_message, str) or not error_message.strip():
        raise InvalidInput("errorMessage must be a non-empty string")
    if error_details is not None and not isinstance(error_details, str):
        raise InvalidInput("errorDetails must be a string")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise InvalidInput(f"retries must be an integer >= 0, not {retries!r}")
    if retry_delay is not None and (not isinstance(retry_delay, timedelta) or retry_delay < timedelta(0)):
        raise InvalidInput("retryTimeout must be >= 0")
    job, instance = _locked_job(session, job_id, worker)
    if retries is None:
        retries = remaining_retries(job.retries, job.failures, ctx.settings.workers.retries)
    job.failures += 1
    delay = retry_delay if retry_delay is not None else timedelta(seconds=ctx.settings.workers.retry_delay_seconds)
    message = error_message.strip()[:MAX_MESSAGE]
    job.retries, job.error_message = retries, message
    job.error_details = error_details[:MAX_DETAILS] if error_details else None
    retry_at = now + delay if retries > 0 else None
    execution.record(session, ctx, instance.id, EventKind.JOB_FAILED, actor=actor, now=now,
                     payload={"job_id": job.id, "bpmn_id": job.bpmn_id, "topic": job.topic, "worker": worker,
                              "attempt": job.attempts, "error_message": message, "retries": retries,
                              "retry_at": retry_at})
    if retry_at is not None:
        job.status, job.run_after = ServiceJobStatus.AVAILABLE, retry_at
        job.lock_owner, job.lock_expires_at = None, None
        ctx.job_signal.notify_after_commit(session)
    else:
        incidents.open_for_job(session, ctx, job, IncidentKind.FAILED_JOB,
                               f"{job.topic} failed after {job.attempts} attempt(s): {message}", actor=actor, now=now)
    session.flush()
    count_on_commit(session, metrics.JOBS, event="failed")
    return JobOut.from_model(job, instance)


def bpmn_error(session: Session, ctx: EngineContext, job_id: str, code: str, *, message: str = "",
               variables: dict[str, Any] | None = None, worker: str, actor: str, now: datetime) -> JobOut:
    """A business outcome: route `code` to the error boundary of this job's task; never retried.
    Uncaught, it opens an incident and the process waits there."""
    if not isinstance(code, str) or not code.strip() or len(code) > 200:
        raise InvalidInput("errorCode must be a non-empty string of at most 200 characters")
    if not isinstance(message, str):
        raise InvalidInput("errorMessage must be a string")
    variables = _check_variables(variables or {})
    code, message = code.strip(), message[:MAX_MESSAGE]
    job, instance = _locked_job(session, job_id, worker)
    _require_running(instance)
    loaded = execution.load(session, ctx, instance)
    outcome = runtime.throw_job_error(loaded.workflow, job.spiff_task_id, code, message, variables, now)
    payload = {"job_id": job.id, "bpmn_id": job.bpmn_id, "topic": job.topic, "worker": worker,
               "attempt": job.attempts, "code": code, "message": message, "variables": variables,
               "caught_by": outcome[0] if outcome else None}
    execution.record(session, ctx, instance.id, EventKind.JOB_BPMN_ERROR, actor=actor, now=now, payload=payload)
    count_on_commit(session, metrics.JOBS, event="bpmn_error")
    if outcome is None:
        job.error_message = f"BPMN error {code}: {message}" if message else f"BPMN error {code}"
        incidents.open_for_job(session, ctx, job, IncidentKind.UNHANDLED_BPMN_ERROR,
                               f"no error boundary on {job.bpmn_id} catches BPMN error {code!r}", actor=actor,
                               now=now)
        session.flush()
        return JobOut.from_model(job, instance)
    _finish(session, job, ServiceJobStatus.BPMN_ERROR, worker=worker, now=now)
    loaded.closed_jobs.add(job.spiff_task_id)
    execution.persist(session, ctx, loaded, outcome[1], actor=actor, now=now)
    return JobOut.from_model(job, instance)


def extend_lock(session: Session, job_id: str, *, worker: str, duration: timedelta, now: datetime) -> JobOut:
    """Keep a long-running job: its lock now expires `duration` from now."""
    _check_duration(duration, "newDuration")
    worker = _check_worker(worker)
    job = session.scalars(select(ServiceJob).where(ServiceJob.id == job_id).with_for_update()).one_or_none()
    if job is None:
        raise JobNotFound(f"no job {job_id}")
    if job.status != ServiceJobStatus.LOCKED:
        raise JobNotOpen(f"job {job_id} is {job.status}, not locked", job_status=job.status)
    if job.lock_owner != worker:
        raise JobNotClaimed(f"job {job_id} is locked by {job.lock_owner}, not {worker}", lock_owner=job.lock_owner)
    job.lock_expires_at = now + duration
    session.flush()
    return JobOut.from_model(job, session.get(ProcessInstance, job.instance_id))
