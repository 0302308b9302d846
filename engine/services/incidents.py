"""Incidents: work that needs an admin (a job out of retries, an uncaught BPMN error). List, open, retry.

Opening and retrying happen under the instance lock and are written to the instance's history
(`instance:incident`, `job:retried`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.dto import IncidentOut
from engine.errors import IncidentNotFound, IncidentResolved, InvalidInput, JobNotOpen
from engine.models import EventKind, Incident, IncidentStatus, ServiceJob, ServiceJobStatus
from engine.services import history

if TYPE_CHECKING:
    from engine.services.context import EngineContext

MAX_PAGE = 200


def open_for_job(session: Session, ctx: EngineContext, job: ServiceJob, kind: str, message: str, *, actor: str,
                 now: datetime) -> Incident:
    """Put the job in INCIDENT and open an incident for it. The caller holds the instance lock."""
    job.status = ServiceJobStatus.INCIDENT
    job.lock_owner, job.lock_expires_at = None, None
    incident = Incident(id=str(uuid.uuid4()), instance_id=job.instance_id, job_id=job.id, kind=kind,
                        bpmn_id=job.bpmn_id, message=message, status=IncidentStatus.OPEN, created_at=now)
    session.add(incident)
    history.record(session, hmac_key=ctx.hmac_key, instance_id=job.instance_id, kind=EventKind.INSTANCE_INCIDENT,
                   actor=actor, at=now, payload={"incident_id": incident.id, "kind": kind, "job_id": job.id,
                                                 "bpmn_id": job.bpmn_id, "message": message})
    return incident


def resolve_for_job(session: Session, job_id: str, *, actor: str, now: datetime) -> None:
    for incident in session.scalars(select(Incident).where(Incident.job_id == job_id,
                                                           Incident.status == IncidentStatus.OPEN)):
        incident.status, incident.resolved_at, incident.resolved_by = IncidentStatus.RESOLVED, now, actor


def get_incident(session: Session, incident_id: str) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident {incident_id}")
    return incident


def list_incidents(session: Session, *, status: str | None = IncidentStatus.OPEN, instance_id: str | None = None,
                   offset: int = 0, limit: int = 50) -> list[IncidentOut]:
    if status is not None and status not in set(IncidentStatus):
        raise InvalidInput(f"status must be one of {', '.join(IncidentStatus)}, not {status!r}")
    query = select(Incident).order_by(Incident.created_at, Incident.id)
    if status:
        query = query.where(Incident.status == status)
    if instance_id:
        query = query.where(Incident.instance_id == instance_id)
    rows = session.scalars(query.offset(offset).limit(min(limit, MAX_PAGE))).all()
    return [IncidentOut.from_model(i) for i in rows]


def retry(session: Session, ctx: EngineContext, incident_id: str, *, retries: int = 1, actor: str,
          now: datetime) -> IncidentOut:
    """An admin's retry: the incident's job becomes claimable now with `retries` remaining retries."""
    from engine.services import execution  # execution -> job_rows -> incidents: import late

    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 1:
        raise InvalidInput(f"retries must be an integer >= 1, not {retries!r}")
    incident = get_incident(session, incident_id)
    execution.lock_instance(session, incident.instance_id)
    session.refresh(incident)  # re-check under the lock
    if incident.status != IncidentStatus.OPEN:
        raise IncidentResolved(f"incident {incident_id} was resolved by {incident.resolved_by}",
                               resolved_by=incident.resolved_by)
    job = session.get(ServiceJob, incident.job_id, with_for_update=True, populate_existing=True) \
        if incident.job_id else None
    if job is None or job.status != ServiceJobStatus.INCIDENT:
        raise JobNotOpen(f"incident {incident_id} has no job waiting for a retry")
    job.status, job.retries, job.run_after = ServiceJobStatus.AVAILABLE, retries, now
    incident.status, incident.resolved_at, incident.resolved_by = IncidentStatus.RESOLVED, now, actor
    history.record(session, hmac_key=ctx.hmac_key, instance_id=job.instance_id, kind=EventKind.JOB_RETRIED,
                   actor=actor, at=now, payload={"job_id": job.id, "incident_id": incident.id, "bpmn_id": job.bpmn_id,
                                                 "retries": retries})
    ctx.job_signal.notify_after_commit(session)
    session.flush()
    return IncidentOut.from_model(incident)
