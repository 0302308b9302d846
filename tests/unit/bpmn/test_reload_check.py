"""The reload check (engine/bpmn/reload_check.py): its value walk answers as the recursive definition does, and a
later check of the same workflow object sees a value put deep inside a container an earlier check found native."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import reload_check
from engine.bpmn.parsing import load_process
from engine.bpmn.reload_check import _native, survives_reload
from engine.bpmn.serialization import dump_workflow, registered_types
from tests.unit.bpmn.test_fast_scan import ANSWERS, ROOT, _drive

REGISTERED = registered_types()


class Colour(StrEnum):
    RED = "red"


def _reference(value: Any) -> bool:
    """The definition: JSON scalars, registered types, str-keyed dicts and lists of such values."""
    kind = type(value)
    if kind in (str, int, float, bool, type(None)):
        return True
    if kind is dict:
        return all(type(k) is str and _reference(v) for k, v in value.items())
    if kind is list:
        return all(_reference(v) for v in value)
    return kind in REGISTERED


def _value(rng: random.Random, depth: int) -> Any:
    leaves = ["x", 1, 2.5, True, None, datetime(2026, 3, 2, tzinfo=UTC), date(2026, 3, 2), Decimal("1.5")]
    odd = [(1, 2), {1, 2}, Colour.RED, b"x", object()]
    draw = rng.random()
    if depth <= 0 or draw < 0.3:
        return rng.choice(odd) if rng.random() < 0.04 else rng.choice(leaves)
    if draw < 0.65:
        items = {f"k{i}": _value(rng, depth - 1) for i in range(rng.randrange(4))}
        if rng.random() < 0.03:
            items[7] = "non-string key"  # type: ignore[index]
        return items
    return [_value(rng, depth - 1) for _ in range(rng.randrange(4))]


def test_the_walk_answers_as_the_recursive_definition() -> None:
    rng = random.Random(14)
    answers = set()
    for _ in range(3000):
        value = _value(rng, 5)
        expected = _reference(value)
        assert _native(value, REGISTERED) is expected, value
        answers.add(expected)
    assert answers == {True, False}  # both kinds of value were drawn


def test_flat_dicts() -> None:
    """Only str keys and JSON scalars: answered without the walk, the same as the definition."""
    assert _native({"a": 1, "b": "示范", "c": None, "d": 0.5, "e": True}, REGISTERED)
    assert not _native({"a": 1, 2: "x"}, REGISTERED)  # an int key reloads as a str
    assert not _native({"a": Colour.RED}, REGISTERED)  # a str subclass reloads as a str
    assert not _native({"a": 1, "b": (1,)}, REGISTERED)
    assert _native({"a": 1, "b": datetime(2026, 1, 1, tzinfo=UTC)}, REGISTERED)  # registered: the walk says so


def test_plain_values_and_edge_cases() -> None:
    assert _native({"a": [1, {"b": [datetime(2026, 1, 1, tzinfo=UTC)]}], "c": None}, REGISTERED)
    assert not _native({"a": [1, {"b": (1, 2)}]}, REGISTERED)  # a tuple reloads as a list
    assert not _native({"a": {1: "x"}}, REGISTERED)  # an int key reloads as a str
    assert not _native([Colour.RED], REGISTERED)  # a str subclass reloads as a str
    assert _native([], REGISTERED) and _native({}, REGISTERED) and _native("x", REGISTERED)


def test_a_self_referencing_value_ends_with_false(monkeypatch: Any) -> None:
    monkeypatch.setattr(reload_check, "MAX_NODES", 1000)
    looped: list[Any] = [1]
    looped.append(looped)  # a script can build this; JSON cannot hold it, so it must never be cached
    assert _native({"x": looped}, REGISTERED) is False
    deep: list[Any] = []
    tail = deep
    for _ in range(5000):  # deeper than the recursion limit of the recursive definition
        tail.append([])
        tail = tail[0]
    assert _native(deep, REGISTERED) is False  # past the node budget: not cached, which is always safe


# Two commands on the same (cached) workflow object: the first leaves a container the check finds native, the second
# changes it in place, deep down, so that the dict or list holding the change is the very object checked before.

APPROVAL_9 = ROOT / "bench/approval_9.bpmn"


def _mid_run() -> BpmnWorkflow:
    return _drive(load_process(APPROVAL_9.read_bytes(), file=APPROVAL_9.name), check=False, steps=3)


def _tasks(workflow: BpmnWorkflow) -> list[Task]:
    return [task for wf in (workflow, *workflow.subprocesses.values()) for task in wf.tasks.values()]


def _command_mark() -> float:
    """The `changed_since` of the next command (engine.services.workflow_cache.command_clock): a task stamped after it
    (Spiff stamps state changes with time.time()) counts as changed, a tie included."""
    return time.time()


def test_a_value_put_deep_inside_unchanged_workflow_data() -> None:
    workflow = _mid_run()
    workflow.data["materials"] = [{"name": "申请表", "pages": [1, 2]}]
    assert survives_reload(workflow, _command_mark())
    for odd in ((3, 4), {3, 4}, Colour.RED):
        since = _command_mark()
        workflow.data["materials"][0]["pages"].append(odd)  # same dict and list objects as at the last check
        assert survives_reload(workflow, since) is False, odd
        workflow.data["materials"][0]["pages"].pop()
        assert survives_reload(workflow, _command_mark())


def test_a_value_put_deep_inside_task_data_shared_with_finished_tasks() -> None:
    """Spiff copies data one level deep: the nested list is the same object in the finished parent and in the ready
    task. The second command's script puts a tuple into it and completes the task."""
    first = _command_mark()
    workflow = _mid_run()  # the first command: the ready task's state changed in it, so its data is checked
    task = next(t for t in _tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual)
    parent = task.parent
    assert parent is not None and parent.state == TaskState.COMPLETED and task.last_state_change >= first
    shared: list[Any] = [{"items": ["甲"]}]
    parent.data["form"] = {"rows": shared}
    task.data["form"] = {"rows": shared}
    assert survives_reload(workflow, first)
    since = _command_mark()
    shared[0]["items"].append(("乙", 2))  # what `form["rows"][0]["items"].append(...)` in a script does
    task.data.update(ANSWERS)
    task.complete()  # the clerk's completion, without the engine steps after it (whose deep copies hold it too)
    assert task.last_state_change >= since
    assert survives_reload(workflow, since) is False


def test_a_value_put_deep_inside_a_waiting_tasks_internal_data() -> None:
    """Internal data of an open task changes in place without a state change (timer facts): checked every time."""
    workflow = _mid_run()
    waiting = next(t for t in _tasks(workflow) if not t.state & TaskState.FINISHED_MASK and t.internal_data)
    waiting.internal_data["facts"] = {"pauses": [{"days": 1}]}
    assert survives_reload(workflow, _command_mark())
    since = _command_mark()
    waiting.internal_data["facts"]["pauses"][0]["days"] = {1, 2}
    assert waiting.last_state_change < since
    assert survives_reload(workflow, since) is False


# With the state dump between commands, as persist runs it: what the last passed check saw and every dump since
# found unchanged (incremental_dump's data entries and frames, the very objects) is not walked again.


def _counting(monkeypatch: Any) -> list[int]:
    walked: list[int] = []
    real = reload_check._native

    def native(value: Any, registered: frozenset[type]) -> bool:
        walked.append(id(value))
        return real(value, registered)

    monkeypatch.setattr(reload_check, "_native", native)
    return walked


def test_after_a_dump_what_the_last_check_saw_unchanged_is_skipped(monkeypatch: Any) -> None:
    workflow = _mid_run()
    sub = next(iter(workflow.subprocesses.values()))
    sub.data["materials"] = [{"name": "申请表"}]
    dump_workflow(workflow)
    assert survives_reload(workflow, _command_mark())
    dump_workflow(workflow)  # nothing changed: every (sub)workflow's data entry and frame taken over
    walked = _counting(monkeypatch)
    assert survives_reload(workflow, _command_mark())
    assert id(sub.data) not in walked and id(workflow.data) not in walked
    assert not {id(t.data) for t in sub.tasks.values()} & set(walked)
    walked.clear()
    assert survives_reload(workflow, _command_mark())  # no dump since the last check: everything walked again
    assert id(sub.data) in walked


def test_after_a_dump_a_value_put_deep_inside_subprocess_data_is_seen() -> None:
    workflow = _mid_run()
    sub = next(iter(workflow.subprocesses.values()))
    sub.data["materials"] = [{"name": "申请表", "pages": [1, 2]}]
    dump_workflow(workflow)
    assert survives_reload(workflow, _command_mark())
    for odd in ((3, 4), Colour.RED):  # what the dump writes, and a reload gives back otherwise
        since = _command_mark()
        sub.data["materials"][0]["pages"].append(odd)  # same dict and list objects as at the last check
        dump_workflow(workflow)
        assert survives_reload(workflow, since) is False, odd
        sub.data["materials"][0]["pages"].pop()
        dump_workflow(workflow)
        assert survives_reload(workflow, _command_mark())


def test_without_a_dump_since_the_last_check_a_deep_change_is_seen() -> None:
    workflow = _mid_run()
    sub = next(iter(workflow.subprocesses.values()))
    sub.data["materials"] = [{"pages": [1]}]
    dump_workflow(workflow)
    dump_workflow(workflow)
    assert survives_reload(workflow, _command_mark())
    sub.data["materials"][0]["pages"].append((2, 3))  # a command whose state was not dumped incrementally
    assert survives_reload(workflow, _command_mark()) is False


def test_after_a_dump_a_waiting_tasks_internal_data_is_still_checked() -> None:
    workflow = _mid_run()
    waiting = next(t for t in _tasks(workflow) if not t.state & TaskState.FINISHED_MASK and t.internal_data)
    waiting.internal_data["facts"] = {"pauses": [{"days": 1}]}
    dump_workflow(workflow)
    assert survives_reload(workflow, _command_mark())
    since = _command_mark()
    waiting.internal_data["facts"]["pauses"][0]["days"] = (1, 2)
    dump_workflow(workflow)
    assert survives_reload(workflow, since) is False
