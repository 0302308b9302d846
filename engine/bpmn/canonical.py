"""An id-free, time-free form of a workflow's state, so two runs of the same commands compare equal.

Spiff task ids are random uuid4 and `last_state_change` is wall time (DESIGN.md §5): neither is kept. What is
kept: the task tree in its (deterministic) creation order, each node's spec name, state, data and internal data
(timer due times and engine timer facts live there), subprocess trees under the task that owns them, the
workflow's data, pending BPMN events and whether it completed.
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState


def _plain(value: Any) -> Any:
    """JSON-normal data: dict keys sorted, tuples as lists, anything else as its string."""
    return json.loads(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _node(workflow: BpmnWorkflow, task: SpiffTask) -> dict[str, Any]:
    node: dict[str, Any] = {
        "spec": task.task_spec.name,
        "bpmn_id": getattr(task.task_spec, "bpmn_id", None),
        "state": TaskState.get_name(task.state),
        "data": _plain(task.data),
        "internal": _plain(getattr(task, "internal_data", {}) or {}),
        "children": [_node(workflow, child) for child in task.children],
    }
    sub = workflow.subprocesses.get(task.id)
    if sub is not None:
        node["subprocess"] = {
            "data": _plain(sub.data),
            "completed": sub.is_completed(),
            "tree": _node(workflow, sub.task_tree) if sub.task_tree is not None else None,
        }
    return node


def canonical_state(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The comparable state of a workflow (see the module docstring)."""
    return {
        "completed": workflow.is_completed(),
        "data": _plain(workflow.data),
        "pending_events": sorted(type(e.event_definition).__name__ for e in workflow.bpmn_events),
        "tree": _node(workflow, workflow.task_tree),
    }


def first_difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """A readable path to the first place two canonical states differ, with both values; None if equal."""
    if type(expected) is not type(actual):
        return f"{path or '/'}: {_short(expected)} != {_short(actual)}"
    if isinstance(expected, dict):
        label = expected.get("bpmn_id") or expected.get("spec")
        here = f"{path}/{label}" if "spec" in expected and label else path
        for key in sorted(set(expected) | set(actual), key=_key_order):
            if key not in expected or key not in actual:
                return f"{here}.{key}: only in {'replay' if key in actual else 'stored state'}"
            found = first_difference(expected[key], actual[key], here if key == "children" else f"{here}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        for i, (a, b) in enumerate(zip(expected, actual)):
            found = first_difference(a, b, path if isinstance(a, dict) and "spec" in a else f"{path}[{i}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path or '/'}: {len(expected)} items stored, {len(actual)} replayed"
        return None
    return None if expected == actual else f"{path or '/'}: stored {_short(expected)}, replayed {_short(actual)}"


def _key_order(key: str) -> tuple[int, str]:
    # Report a node's own fields before descending into its children.
    return (1 if key in ("children", "subprocess", "tree") else 0, key)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
