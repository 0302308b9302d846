"""Start process instances, read them, and repair them (suspend, resume, terminate)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.bpmn.serialization import SERIALIZER_VERSION, dump_workflow
from engine.dto import InstanceOut
from engine.errors import InstanceNotFound, InstanceNotRunning, InvalidInput
from engine.models import (
    OPEN_JOB_STATUSES,
    EventKind,
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    ProcessInstance,
    ServiceJob,
    Timer,
    TimerStatus,
)
from engine.services import calendars, core_rows, execution, history, job_rows
from engine.services.context import EngineContext
from engine.services.deployments import get_definition, latest_version, version_ref


def start(session: Session, ctx: EngineContext, key: str, variables: dict[str, Any], *, actor: str, now: datetime,
          business_key: str | None = None, definition_id: int | None = None) -> InstanceOut:
    """Start the latest version of `key`, or with `definition_id` that version of it."""
    if not isinstance(variables, dict):
        raise InvalidInput("variables must be a JSON object")
    definition = latest_version(session, key) if definition_id is None else version_ref(session, definition_id)
    if definition.process_key != key:
        raise InvalidInput(f"definition {definition_id} is {definition.process_key!r}, not {key!r}")
    row = None  # the whole row is read only if the version's spec is not cached
    parsed = ctx.specs.cached(definition.id)
    if parsed is None:
        row = get_definition(session, definition.id)
        parsed = ctx.specs.get(row)
    workflow = runtime.new_workflow(parsed, variables, now)
    runtime.bind_calendar(workflow, calendars.lazy(session, ctx))  # timers count with the loaded schedules
    # The row must exist before the task, timer and job rows (foreign keys); its state is written by persist below,
    # once stepped. Inserted by Core, with the session's object made for it (no unit-of-work flush).
    instance: ProcessInstance = core_rows.insert_object(session, ProcessInstance, {
        "id": str(uuid.uuid4()),
        "definition_id": definition.id,
        "process_key": definition.process_key,
        "business_key": business_key,
        "status": InstanceStatus.RUNNING,
        "state_json": "",
        "serializer_version": SERIALIZER_VERSION,
        "lock_version": 0,
        "started_at": now,
        "started_by": actor,
        "ended_at": None,
        "updated_at": now,
    })
    history.new_chain(session, instance.id)  # its chain starts here: no head to read
    execution.record(session, ctx, instance.id, EventKind.INSTANCE_STARTED, actor=actor, now=now,
                     payload={"key": key, "version": definition.version, "definition_id": definition.id,
                              "business_key": business_key, "variables": variables})
    loaded = execution.Loaded(instance, row, parsed, workflow, waiting_jobs=frozenset(), new=True)
    result = runtime.advance(workflow, now)
    execution.persist(session, ctx, loaded, result, actor=actor, now=now)
    return InstanceOut.from_model(instance, runtime.workflow_data(workflow))


def get_instance(session: Session, instance_id: str) -> ProcessInstance:
    instance = core_rows.get(session, ProcessInstance, instance_id)
    if instance is None:
        raise InstanceNotFound(f"no process instance {instance_id}")
    return instance


def describe(session: Session, ctx: EngineContext, instance_id: str) -> InstanceOut:
    instance = get_instance(session, instance_id)
    loaded = execution.load(session, ctx, instance)
    return InstanceOut.from_model(instance, runtime.workflow_data(loaded.workflow))


def list_instances(session: Session, *, key: str | None = None, status: str | None = None,
                   business_key: str | None = None, offset: int = 0, limit: int = 50,
                   only_ids: set[str] | None = None) -> list[InstanceOut]:
    """`only_ids` (when not None) restricts the list to those instances: the caller's visibility scope."""
    query = select(ProcessInstance).order_by(ProcessInstance.started_at.desc(), ProcessInstance.id)
    if only_ids is not None:
        query = query.where(ProcessInstance.id.in_(only_ids))
    if key:
        query = query.where(ProcessInstance.process_key == key)
    if status:
        query = query.where(ProcessInstance.status == status)
    if business_key:
        query = query.where(ProcessInstance.business_key == business_key)
    rows = session.scalars(query.offset(offset).limit(limit)).all()
    return [InstanceOut.from_model(i) for i in rows]


def set_suspended(session: Session, ctx: EngineContext, instance_id: str, suspended: bool, *, actor: str,
                  now: datetime, reason: str) -> InstanceOut:
    instance = execution.lock_instance(session, instance_id)
    wanted_from = InstanceStatus.RUNNING if suspended else InstanceStatus.SUSPENDED
    if instance.status != wanted_from:
        raise InstanceNotRunning(f"instance {instance_id} is {instance.status}")
    instance.status = InstanceStatus.SUSPENDED if suspended else InstanceStatus.RUNNING
    instance.updated_at = now
    kind = EventKind.INSTANCE_SUSPENDED if suspended else EventKind.INSTANCE_RESUMED
    execution.record(session, ctx, instance.id, kind, actor=actor, now=now, payload={"reason": reason})
    session.flush()
    return InstanceOut.from_model(instance)


def terminate(session: Session, ctx: EngineContext, instance_id: str, *, actor: str, now: datetime,
              reason: str) -> InstanceOut:
    instance = execution.lock_instance(session, instance_id)
    if instance.status in (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED):
        raise InstanceNotRunning(f"instance {instance_id} is already {instance.status}")
    loaded = execution.load(session, ctx, instance)
    runtime.cancel(loaded.workflow, now)
    for task in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                        HumanTask.status == HumanTaskStatus.OPEN)):
        task.status, task.completed_at = HumanTaskStatus.CANCELLED, now
    for timer in session.scalars(select(Timer).where(Timer.instance_id == instance.id,
                                                     Timer.status == TimerStatus.WAITING)):
        timer.status = TimerStatus.CANCELLED
    for job in session.scalars(select(ServiceJob).where(ServiceJob.instance_id == instance.id,
                                                        ServiceJob.status.in_(OPEN_JOB_STATUSES))):
        job_rows.cancel(session, ctx, job, actor=actor, now=now)
    instance.status, instance.ended_at, instance.updated_at = InstanceStatus.TERMINATED, now, now
    instance.state_json = dump_workflow(loaded.workflow)
    execution.record(session, ctx, instance.id, EventKind.INSTANCE_TERMINATED, actor=actor, now=now,
                     payload={"reason": reason})
    session.flush()
    return InstanceOut.from_model(instance)
