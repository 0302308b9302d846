"""The state-only workflow dict, built without the serializer registry's per-object dispatch.

Why: dumping the state after every command is ~20% of a command (approval_9: ~165 tasks). Spiff's registry
converts each task through `convert` -> `clean` -> typename lookup -> `partial` -> `TaskConverter.to_dict`,
which looks the parent up twice and converts empty internal data recursively. `state_dict` writes the same
dict (same keys, same order, same values: tests/unit/bpmn/test_fast_dump.py compares it with the registry's
on the corpus at every step) and leaves to the registry only what needs it: non-empty internal data, workflow
data, pending BPMN events, and any task or workflow class other than Spiff's own.
"""

from __future__ import annotations

from itertools import compress, filterfalse, repeat
from operator import ne
from types import ModuleType
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnSubWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.serializer.helpers.dictionary import DictionaryConverter
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow, BpmnSubWorkflow
from SpiffWorkflow.task import Task

from engine.json_values import SCALARS as _SCALARS

_PLAIN = _SCALARS | {dict, list}
_MISSING = object()


def _converter(registry: DictionaryConverter) -> Any:
    """`registry.convert` with plain JSON values (the bulk of internal data: timer facts) handled inline; the
    result is the same: scalars unchanged, dicts cleaned of callables and modules level by level, lists item
    by item, anything else through the registry."""
    slow = registry.convert

    def convert(value: Any) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return value
        if kind is dict:
            return {key: convert(item) for key, item in value.items()
                    if not callable(item) and not isinstance(item, ModuleType)}
        if kind is list:
            return [convert(item) for item in value]
        return slow(value)

    return convert


def _updates(old: dict[Any, Any], new: dict[Any, Any]) -> dict[Any, Any]:
    """`{key: new[key] for key in new if key not in old or new[key] != old[key]}` (Spiff's delta), in C passes when
    every value of `new` is a JSON scalar, dict or list: for those, `value != _MISSING` is True without calling
    anything else, as the stock test answers for a key `old` lacks (a task's data repeats its parent's, so this is
    a comparison per variable of every task a command encodes)."""
    if _PLAIN.issuperset(map(type, new.values())):
        return dict(compress(new.items(), map(ne, new.values(), map(old.get, new, repeat(_MISSING)))))
    return {key: new[key] for key in new if key not in old or new[key] != old[key]}


def _task_dict(task: Task, tasks: dict[Any, Task], convert: Any, typename: str) -> dict[str, Any]:
    # TaskConverter.to_dict: the root keeps its data, every other task a delta against its parent's data.
    parent = tasks.get(task._parent) if task._parent is not None else None
    if parent is None:
        data, delta = task.data, {}
    else:
        old, new = parent.data, task.data
        data = {}
        delta = {"updates": _updates(old, new), "deletions": list(filterfalse(new.__contains__, old))}
    internal = task.internal_data
    return {
        "id": str(task.id),
        "parent": str(task._parent) if parent is not None else None,
        "children": [str(child) for child in task._children],
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": convert(internal) if internal else {},
        "data": data,
        "delta": delta,
        "typename": typename,
    }


class FastStateDict:
    """Bound to one registry (the engine's serializer's); `fast` is False if Spiff's classes were replaced."""

    def __init__(self, registry: DictionaryConverter) -> None:
        self.registry = registry
        self.task_typename = registry.typenames.get(Task, "")
        self.sub_typename = registry.typenames.get(BpmnSubWorkflow, "")
        self.workflow_typename = registry.typenames.get(BpmnWorkflow, "")
        self.convert = _converter(registry)
        task_to_dict = registry.convert_to_dict.get(self.task_typename)
        sub_to_dict = registry.convert_to_dict.get(self.sub_typename)
        self.fast = (
            task_to_dict is not None and type(getattr(task_to_dict.args[1], "__self__", None)) is TaskConverter
            and sub_to_dict is not None
            and type(getattr(sub_to_dict.args[1], "__self__", None)) is BpmnSubWorkflowConverter
        )

    def _common(self, workflow: BpmnBaseWorkflow) -> dict[str, Any]:
        # WorkflowConverter.to_dict
        registry, tasks, typename = self.registry, workflow.tasks, self.task_typename
        convert = self.convert
        task_dicts = {}
        for task_id, task in tasks.items():
            if type(task) is Task:
                task_dicts[str(task_id)] = _task_dict(task, tasks, convert, typename)
            else:
                task_dicts[str(task_id)] = registry.convert(task)
        return {
            "data": convert(registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": task_dicts,
            "root": str(workflow.task_tree.id),
        }

    def state_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        """What `StateOnlyWorkflowConverter` (engine/bpmn/serialization.py) returns through the registry."""
        dct = self._common(workflow)
        subprocesses = {}
        for task_id, sub in workflow.subprocesses.items():
            if type(sub) is BpmnSubWorkflow:
                sub_dct = self._common(sub)
                sub_dct["parent_task_id"] = str(sub.parent_task_id)
                sub_dct["spec"] = sub.spec.name
                sub_dct["typename"] = self.sub_typename
            else:
                sub_dct = self.registry.convert(sub)
            subprocesses[str(task_id)] = sub_dct
        dct["subprocesses"] = subprocesses
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        dct["typename"] = self.workflow_typename
        return dct
