"""Which sequence flows an instance went along, read from its Spiff task tree.

History records elements, not flows; the task tree records both ends of every step a token made: each task is
the child of the task that led to it. A task whose parent COMPLETED was reached (even if it was later cancelled:
a parallel join's other threads, a review interrupted by its timer, everything a terminate end event stopped);
the flow from the nearest ancestor that is a BPMN element to it was taken. The engine's own specs in between
(`<id>.BoundaryEventSplit`, `<id>.BoundaryEventJoin`, `Start`, `<process>.EndJoin`) are skipped. Subprocesses keep
their own trees, which are walked the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

NOT_REACHED = TaskState.PREDICTED_MASK | TaskState.FUTURE


def _bpmn_id(task: SpiffTask) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


def _source(task: SpiffTask) -> str | None:
    """The nearest ancestor that is a BPMN element."""
    parent = task.parent
    while parent is not None:
        bpmn_id = _bpmn_id(parent)
        if bpmn_id:
            return bpmn_id
        parent = parent.parent
    return None


def _tasks(workflow: BpmnWorkflow) -> Iterable[SpiffTask]:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def taken_flows(workflow: BpmnWorkflow, flows: Mapping[str, tuple[str, str]]) -> set[str]:
    """Ids of the flows (id -> (source, target)) that some token went along in this workflow."""
    by_ends: dict[tuple[str, str], list[str]] = {}
    for flow_id, ends in flows.items():
        by_ends.setdefault(ends, []).append(flow_id)
    taken: set[str] = set()
    for task in _tasks(workflow):
        target = _bpmn_id(task)
        if not target or task.parent is None or task.has_state(NOT_REACHED):
            continue
        if task.parent.state != TaskState.COMPLETED:
            continue
        source = _source(task)
        if source:
            taken.update(by_ends.get((source, target), ()))
    return taken

