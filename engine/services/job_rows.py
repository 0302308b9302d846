"""Keep job rows in step with the engine's state; part of the command path's persist step (DESIGN.md §2).

A service task that started gets a claimable row; an open row whose task is no longer STARTED (cancelled by a
timer, an error path or termination) is cancelled, and an incident waiting on it is resolved.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.models import OPEN_JOB_STATUSES, EventKind, ProcessInstance, ServiceJob, ServiceJobStatus
from engine.services import core_rows, history, incidents

if TYPE_CHECKING:
    from SpiffWorkflow.bpmn import BpmnWorkflow

    from engine.services.context import EngineContext


_OPEN_JOBS = (  # built once, the instance bound per call; the columns the sync needs, not ServiceJob objects
    select(ServiceJob.id, ServiceJob.instance_id, ServiceJob.spiff_task_id, ServiceJob.bpmn_id, ServiceJob.topic,
           ServiceJob.status)
    .where(ServiceJob.instance_id == bindparam("instance_id"), ServiceJob.status.in_(OPEN_JOB_STATUSES))
    .order_by(ServiceJob.created_at, ServiceJob.bpmn_id)  # same event order on replay (issue 13)
)


def read_open(session: Session, instance: ProcessInstance) -> dict[str, Any]:
    """The instance's open job rows (`_OPEN_JOBS`'s columns) by spiff task id."""
    return {row.spiff_task_id: row for row in core_rows.read(session, _OPEN_JOBS, {"instance_id": instance.id})}


def sync(session: Session, ctx: EngineContext, instance: ProcessInstance, workflow: BpmnWorkflow,
         result: runtime.StepResult, *, actor: str, now: datetime, none_open: bool = False) -> None:
    """`none_open`: the instance has no open job rows, so there is nothing to read (inserted by this transaction,
    or no service task waits for its worker)."""
    open_rows: dict[str, Any] = {} if none_open else read_open(session, instance)
    for spiff_id, row in open_rows.items():
        if runtime.task_state(workflow, spiff_id) != "STARTED":
            cancel(session, ctx, row, actor=actor, now=now)
    inserts = []
    for request in result.job_requests:
        if request.spiff_task_id in open_rows or runtime.task_state(workflow, request.spiff_task_id) != "STARTED":
            continue  # already has a row, or started and was cancelled within the same step
        values = {
            "id": str(uuid.uuid4()),
            "instance_id": instance.id,
            "spiff_task_id": request.spiff_task_id,
            "bpmn_id": request.bpmn_id,
            "topic": request.topic,
            "payload": history.jsonable(request.payload),
            "status": ServiceJobStatus.AVAILABLE,
            "priority": request.priority,
            "retries": request.retries,
            "failures": 0,
            "attempts": 0,
            "lock_owner": None,
            "lock_expires_at": None,
            "run_after": now,
            "error_message": None,
            "error_details": None,
            "created_at": now,
            "finished_at": None,
            "finished_by": None,
        }
        inserts.append(values)
        open_rows[request.spiff_task_id] = values  # one open job per task, even if a step reports it twice (issue 13)
        history.record(session, hmac_key=ctx.hmac_key, instance_id=instance.id, kind=EventKind.JOB_CREATED,
                       actor=actor, at=now, payload={"job_id": values["id"], "bpmn_id": request.bpmn_id,
                                                     "topic": request.topic, "retries": request.retries,
                                                     "priority": request.priority})
    if inserts:
        core_rows.insert_rows(session, ServiceJob, inserts)
        ctx.job_signal.notify_after_commit(session)


class OpenJob(Protocol):
    """What cancelling needs of a job: a ServiceJob, or a row of `_OPEN_JOBS`."""

    id: str
    instance_id: str
    bpmn_id: str
    topic: str
    status: str


def cancel(session: Session, ctx: EngineContext, job: OpenJob, *, actor: str, now: datetime) -> None:
    if job.status == ServiceJobStatus.INCIDENT:
        incidents.resolve_for_job(session, job.id, actor=actor, now=now)
    core_rows.update_row(session, ServiceJob, job.id, {"status": ServiceJobStatus.CANCELLED, "finished_at": now,
                                                        "finished_by": actor, "lock_owner": None,
                                                        "lock_expires_at": None})
    history.record(session, hmac_key=ctx.hmac_key, instance_id=job.instance_id, kind=EventKind.JOB_CANCELLED,
                   actor=actor, at=now, payload={"job_id": job.id, "bpmn_id": job.bpmn_id, "topic": job.topic})
