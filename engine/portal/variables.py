"""What an application's process knows right now. Variables written inside a running subprocess (the window's
`intake_check`, a stage's opinions) live on its open tasks until the subprocess ends, so a running instance's
variables are the process data overlaid with what its open tasks see; a finished one's are its final data."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.models import InstanceStatus
from engine.services import execution, instances
from engine.services.context import EngineContext


def current(session: Session, ctx: EngineContext, instance_id: str) -> dict[str, Any]:
    instance = instances.get_instance(session, instance_id)
    workflow = execution.load(session, ctx, instance).workflow
    if instance.status == InstanceStatus.COMPLETED:
        return runtime.workflow_data(workflow)
    return {**runtime.workflow_data(workflow), **runtime.open_task_data(workflow)}
