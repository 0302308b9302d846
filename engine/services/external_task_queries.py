"""External tasks as Camunda's runtime API sees them (issue 12): open jobs (available, locked, or waiting in an
incident with 0 retries) with their definition version, error details and the service task's extension
properties; Camunda's query filters; and `unlock`. Completed and cancelled jobs no longer exist there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.dto import JobOut
from engine.errors import JobNotFound
from engine.models import OPEN_JOB_STATUSES, ProcessDefinition, ProcessInstance, ServiceJob, ServiceJobStatus
from engine.services.context import EngineContext
from engine.services.jobs import TopicRequest


@dataclass(frozen=True)
class JobFacts:
    """What Camunda shows of a job beyond `JobOut`."""

    definition_id: int
    definition_version: int
    error_details: str | None
    extension_properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExternalTaskOut:
    job: JobOut
    facts: JobFacts


@dataclass(frozen=True)
class FilteredTopic(TopicRequest):
    """A fetch-and-lock topic with Camunda's per-topic filters (business key, definition key or id)."""

    business_key: str | None = None
    definition_keys: tuple[str, ...] = ()
    definition_ids: tuple[int, ...] = ()

    def condition(self) -> Any:
        parts = [super().condition()]
        if self.business_key is not None:
            parts.append(ProcessInstance.business_key == self.business_key)
        if self.definition_keys:
            parts.append(ProcessInstance.process_key.in_(self.definition_keys))
        if self.definition_ids:
            parts.append(ProcessInstance.definition_id.in_(self.definition_ids))
        return and_(*parts)


@dataclass(frozen=True)
class ExternalTaskFilter:
    """Camunda's GET /external-task query parameters that this layer supports."""

    job_id: str | None = None
    topic: str | None = None
    worker: str | None = None
    instance_id: str | None = None
    activity_id: str | None = None
    locked: bool | None = None  # True: lock held now; False: not locked or lock expired
    retries_left: bool | None = None  # True: retries null or > 0; False: 0 retries (incident)


def _facts(definition: ProcessDefinition, job: ServiceJob) -> JobFacts:
    element = (definition.elements or {}).get(job.bpmn_id) or {}
    properties = {str(k): str(v) for k, v in (element.get("properties") or {}).items()}
    return JobFacts(definition.id, definition.version, job.error_details, properties)


def facts_for(session: Session, job_ids: Sequence[str]) -> dict[str, JobFacts]:
    if not job_ids:
        return {}
    rows = session.execute(
        select(ServiceJob, ProcessDefinition)
        .join(ProcessInstance, ProcessInstance.id == ServiceJob.instance_id)
        .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
        .where(ServiceJob.id.in_(list(job_ids)))).all()
    return {job.id: _facts(definition, job) for job, definition in rows}


def _query(filters: ExternalTaskFilter, now: datetime) -> Select[Any]:
    query = (select(ServiceJob, ProcessInstance, ProcessDefinition)
             .join(ProcessInstance, ProcessInstance.id == ServiceJob.instance_id)
             .join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
             .where(ServiceJob.status.in_(OPEN_JOB_STATUSES)))
    if filters.job_id:
        query = query.where(ServiceJob.id == filters.job_id)
    if filters.topic:
        query = query.where(ServiceJob.topic == filters.topic)
    if filters.worker:
        query = query.where(ServiceJob.lock_owner == filters.worker)
    if filters.instance_id:
        query = query.where(ServiceJob.instance_id == filters.instance_id)
    if filters.activity_id:
        query = query.where(ServiceJob.bpmn_id == filters.activity_id)
    held = and_(ServiceJob.status == ServiceJobStatus.LOCKED, ServiceJob.lock_expires_at > now)
    if filters.locked is True:
        query = query.where(held)
    elif filters.locked is False:
        query = query.where(~held)
    if filters.retries_left is True:
        query = query.where(or_(ServiceJob.retries.is_(None), ServiceJob.retries > 0))
    elif filters.retries_left is False:
        query = query.where(ServiceJob.retries == 0)
    return query


def list_open(session: Session, filters: ExternalTaskFilter, *, now: datetime, offset: int = 0,
              limit: int | None = None) -> list[ExternalTaskOut]:
    query = _query(filters, now).order_by(ServiceJob.created_at, ServiceJob.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [ExternalTaskOut(JobOut.from_model(job, instance), _facts(definition, job))
            for job, instance, definition in session.execute(query).all()]


def count_open(session: Session, filters: ExternalTaskFilter, *, now: datetime) -> int:
    return int(session.scalar(select(func.count()).select_from(_query(filters, now).subquery())) or 0)


def get_open(session: Session, job_id: str, *, now: datetime) -> ExternalTaskOut:
    found = list_open(session, ExternalTaskFilter(job_id=job_id), now=now)
    if not found:
        raise JobNotFound(f"External task with id {job_id} does not exist")
    return found[0]


def unlock(session: Session, ctx: EngineContext, job_id: str) -> None:
    """Camunda's unlock: drop the lock whoever holds it; the job is claimable at once. A claim writes no history
    (engine/services/jobs.py), so neither does giving it back."""
    job = session.scalars(select(ServiceJob).where(ServiceJob.id == job_id).with_for_update()).one_or_none()
    if job is None or job.status not in OPEN_JOB_STATUSES:
        raise JobNotFound(f"External task with id {job_id} does not exist")
    if job.status == ServiceJobStatus.LOCKED:
        job.status, job.lock_owner, job.lock_expires_at = ServiceJobStatus.AVAILABLE, None, None
        ctx.job_signal.notify_after_commit(session)
    session.flush()
