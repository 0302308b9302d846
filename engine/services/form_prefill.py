"""Form prefill (`x-prefill`): a form field may name a dotted path into what its task sees — the applicant's
profile (`applicant.name`), an earlier step's result (`intake_check.missing_secondary`), a start variable
(`project_name`) — so that the clerk never types again what the engine already knows (DOMAIN.md §1: the
applicant's information is submitted once)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.errors import EngineError
from engine.models import HumanTask, ProcessInstance
from engine.services import execution
from engine.services.context import EngineContext

PREFILL = "x-prefill"
_MISSING = object()


def resolve(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (`applicant.name`), or `_MISSING`."""
    value: Any = data
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def values(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """Field -> prefilled value, for every field whose `x-prefill` path resolves in `data`."""
    result: dict[str, Any] = {}
    for name, prop in ((schema or {}).get("properties") or {}).items():
        path = prop.get(PREFILL) if isinstance(prop, dict) else None
        if isinstance(path, str) and path:
            found = resolve(data, path)
            if found is not _MISSING:
                result[name] = found
    return result


def for_task(session: Session, ctx: EngineContext, task: HumanTask, schema: dict[str, Any] | None) -> dict[str, Any]:
    """Prefilled values for an open task's form; nothing when the form has no `x-prefill` fields or the task's
    data cannot be read (a closed task)."""
    if not any(isinstance(p, dict) and PREFILL in p for p in ((schema or {}).get("properties") or {}).values()):
        return {}
    instance = session.get(ProcessInstance, task.instance_id)
    if instance is None:
        return {}
    try:
        loaded = execution.load(session, ctx, instance)
        data = runtime.task_data(loaded.workflow, task.spiff_task_id)
    except EngineError:
        return {}
    return values(schema, data)
