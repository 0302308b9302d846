"""Would a workflow reloaded from its own state JSON equal the object in memory? (for the workflow cache)

A cached workflow is reused only if the next command would see exactly what a reload gives it. JSON turns a
tuple into a list, a set or a str subclass (an enum) into something else and a non-string key into a string,
so a command that put such a value in task data must not leave its workflow object in the cache. Values of
the types Spiff's serializer registry restores (datetime, Decimal, ...) come back as they were.

What it costs (issue 14, measured on `simulate --projects 20 --seed 3`: 736 checks, 0.14-0.22 s of a ~8.5 s run):
the loop over tasks ~30%, workflow data (the main workflow's and every subprocess's) ~20%, the data of tasks that
changed ~50%. A check takes no snapshots of its own: comparing a snapshot of a container's keys and values by
identity in C passes took 10-15 us on a completed subprocess's data that the walk below checks in 7-12 us, and the
data of a task that changed is mostly new dicts and lists (Spiff copies data one level deep), which no earlier check
saw. It borrows the state dump's instead (`survives_reload`): the dump persist makes right before the check compared
what it reused by identity, snapshots included, so a (sub)workflow whose data entry or frame is the very object the
last passed check saw is as native as then (callgrind: approval_9 156.6M -> 154.9M instructions per instance,
simulate 789.1M -> 771.2M per project). A walk over all roots level by level in C passes was slower.
tests/unit/bpmn/test_reload_check.py pins what a later check must see, with and without a dump between.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import incremental_dump
from engine.bpmn.serialization import registered_types
from engine.json_values import SCALARS as _SCALARS
from engine.json_values import flat

# Containers a check visits at most: past this (a huge or self-referencing value) it answers False, which only
# means the workflow is not cached.
MAX_NODES = 1_000_000


def _native(value: Any, registered: frozenset[type]) -> bool:
    """Only str-keyed dicts, lists, JSON scalars and registered types, at any depth (an explicit stack: the
    recursive version with `all(...)` generators was ~2/3 of the check's time on the approval processes)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is not dict and kind is not list:
        return kind in registered
    if kind is dict and flat(value):
        return True  # flat variables (most task data in long sequences): two C passes instead of the walk
    stack = [value]
    pop, push, budget = stack.pop, stack.append, MAX_NODES
    while stack:
        budget -= 1
        if budget < 0:
            return False
        container = pop()
        if type(container) is dict:
            for key in container:
                if type(key) is not str:
                    return False
            items = container.values()
        else:
            items = container
        for item in items:
            kind = type(item)
            if kind in _SCALARS:
                continue
            if kind is dict or kind is list:
                push(item)
            elif kind not in registered:
                return False
    return True


_CHECKED = "_engine_reload_checked"  # on the workflow: the last dump's memo (its id) and marks a passed check saw


def survives_reload(workflow: BpmnWorkflow, changed_since: float) -> bool:
    """True if every value a command may have touched is one JSON (plus Spiff's registry) gives back as is.

    Checked: workflow data, data and internal data of tasks whose state changed at or after `changed_since`
    (a `time.time()` taken before the command ran Spiff, which stamps every state change), and internal data
    of every unfinished task (timer facts change in place). The others were loaded from JSON or checked by the
    command that last set them: data reaches a task only from the command's input, from scripts run by tasks
    that change state, or as copies of other tasks' data.

    Skipped, when the state dump ran since the last check that passed (persist dumps right before this check): a
    (sub)workflow's data whose dump entry is the very one that check saw, and its tasks if its frame is
    (incremental_dump: each dump since found the same objects, keys and values by identity and every container
    they reach unchanged, so what was native then still is). Completed and untouched subprocesses, mostly.
    """
    registered = registered_types()
    memo = incremental_dump.last_dump(workflow)
    last = workflow.__dict__.get(_CHECKED)
    # Marks are trusted only from a dump made since the last check: a command whose state was dumped otherwise
    # (the full dump) left the memo as it was. By id(), not holding the memo: a new memo at a freed one's address
    # only costs a full check.
    seen: dict[int, tuple[Any, Any]] = last[1] if last is not None and memo is not None and last[0] != id(memo) \
        else {}
    marks: dict[int, tuple[Any, Any]] = {}
    for wf in (workflow, *workflow.subprocesses.values()):
        key = id(wf)
        data_mark = memo.data.get(key) if memo is not None else None
        if data_mark is not None and data_mark[0] is not wf:
            data_mark = None
        frame = memo.frames.get(key) if memo is not None else None
        if frame is not None and frame.workflow is not wf:
            frame = None
        marks[key] = (data_mark, frame)
        before = seen.get(key)
        if (data_mark is None or before is None or before[0] is not data_mark) and not _native(wf.data, registered):
            return False
        if frame is not None and before is not None and before[1] is frame:
            continue
        for task in wf.tasks.values():
            changed = task.last_state_change >= changed_since
            if changed and not _native(task.data, registered):
                return False
            # Timer facts are rewritten in place on waiting tasks (pauses, moved dues): check every open one.
            internal = task.internal_data
            unfinished = not task._state & TaskState.FINISHED_MASK
            if internal and (changed or unfinished) and not _native(internal, registered):
                return False
    if memo is not None:
        workflow.__dict__[_CHECKED] = (id(memo), marks)
    return True
