"""The state JSON rebuilt from the previous dump of the same workflow object: only changed tasks are encoded again.

Why: the workflow cache (engine/services/workflow_cache.py) keeps the object between commands and a command changes
a few tasks, yet every dump built and encoded every task (approval_9 mid-run: ~1.5 ms; a Hohhot instance with
~250 tasks and ~100-160 KB of state: 3-8 ms). `dump_text` returns exactly the text of `json.dumps(state_dict(wf))`
(tests/unit/bpmn/test_incremental_dump.py compares both at every step of the corpus and on the cases below).

Kept per workflow object (on the object: a copy or a reload starts afresh): each task's encoded fragment with what it
was computed from (the task object, state, last_state_change, triggered, spec, parent, children, the data and
internal-data dicts, internal data's keys and values), and each workflow's encoded data. A fragment is reused if
all of that is identical (compared by identity) and its parent's fragment was reused too (a delta is against the
parent's data); besides:
- a finished task: its data is never written by Spiff or the engine. What can change it in place is a container
  it *shares* with a task that runs (task data is copied one level deep: a child's top-level values are new
  dicts/lists, the ones inside them are its parent's). All a command can reach that way was, at the previous
  dump, reachable from a "source": the finished parent or finished children of an unfinished task (inheritance,
  multi-instance merges), the parents of a join's other instances (the join merges them), a workflow's data. So
  each dump records a shallow snapshot (the very keys and values, compared by identity) of every mutable container
  reachable from the sources, and the next dump reuses nothing if one changed, if a finished task changed at all
  (a reset, a migration) or if a source held a value of a type whose changes a snapshot cannot see. A root (a
  source's data, a workflow's data value) that was one at the last dump too, when none of that dump's snapshots
  changed, reaches exactly the containers it reached then: their snapshots are taken over, not walked again;
- a task that has not started (no data of its own): its delta lists its parent's keys, compared instead;
- an open task with data (a user task, a waiting timer): a snapshot of every container in its data and internal
  data, taken with its fragment, is unchanged.
A (sub)workflow whose tasks were all finished (a completed subprocess: about half the tasks a simulation's dumps
visit) keeps its tasks' text whole, reused when every task holds as above, compared in a few passes in C (`_Settled`).
"""

from __future__ import annotations

import gc
import json
import weakref
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain, compress
from operator import attrgetter, is_, itemgetter
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow, BpmnSubWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.fast_dump import FastStateDict
from engine.bpmn.fast_dump import _task_dict as task_dict

# The same text as json.dumps(..., separators=(",", ":"), ensure_ascii=False, check_circular=False): what
# JSONEncoder.encode does, with the C encoder built once instead of per call (~100 small encodings per dump).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
_C_ENCODE = (json.encoder.c_make_encoder(None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",",
                                         False, False, True)
             if json.encoder.c_make_encoder is not None else None)
_LITERALS: dict[Any, str] = {None: "null", True: "true", False: "false"}


def _encode(value: Any) -> str:
    if value is None or value is True or value is False:
        return _LITERALS[value]
    if type(value) is str:
        return json.encoder.encode_basestring(value)
    if _C_ENCODE is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


_ENCODE = _encode
_FINISHED = TaskState.FINISHED_MASK
_NOT_STARTED = TaskState.FUTURE | TaskState.PREDICTED_MASK  # tasks that have not inherited data yet
_FOLLOWED = frozenset({dict, list, tuple, set})  # containers walked into (a tuple cannot change, its items can)
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime, date, time, timedelta, Decimal, UUID})
_KNOWN = _FOLLOWED | _IMMUTABLE
_MAX_LEVELS = 200  # deeper (or cyclic) data is not snapshotted: the next dump encodes every task


class _Entry:
    """A task's fragment and what it was computed from. `parent_task` and `children_tasks` are the objects behind
    the ids (a workflow object never replaces the task object of an id), so a reuse needs no UUID hashing."""

    __slots__ = ("children", "children_tasks", "data", "finished", "internal", "internal_keys", "internal_values",
                 "lsc", "own", "parent", "parent_keys", "parent_task", "spec", "state", "task", "text", "triggered")

    def __init__(self, task: Task, parent_task: Task | None, text: str) -> None:
        self.task, self.parent_task, self.text = task, parent_task, text
        self.state, self.lsc, self.triggered = task._state, task.last_state_change, task.triggered
        self.finished = bool(task._state & _FINISHED)
        self.spec, self.parent, self.children = task.task_spec, task._parent, list(task._children)
        self.children_tasks = [] if self.finished else [task.workflow.tasks.get(child) for child in task._children]
        # A predicted task has no data: its delta lists its parent's keys as deletions, and nothing else.
        self.parent_keys = () if self.finished or parent_task is None else tuple(parent_task.data)
        self.data, self.internal = task.data, task.internal_data
        self.internal_keys, self.internal_values = tuple(task.internal_data), tuple(task.internal_data.values())
        # A running or waiting task's data changes in place: snapshots of everything in it (None: not kept).
        self.own: list[tuple[Any, ...]] | None = None

    def holds(self, task: Task) -> bool:
        internal = task.internal_data
        return (self.task is task and self.state == task._state and self.lsc is task.last_state_change
                and self.triggered is task.triggered and self.spec is task.task_spec and self.parent is task._parent
                and self.data is task.data and self.internal is internal and self.children == task._children
                and len(internal) == len(self.internal_keys)
                and (not internal or (all(map(is_, internal, self.internal_keys))
                                      and all(map(is_, internal.values(), self.internal_values)))))


_FIELDS = attrgetter("_state", "last_state_change", "triggered", "task_spec", "_parent", "data", "internal_data")
_CHILDREN = attrgetter("_children")
_CONTAINER = itemgetter(0)
_INTERNAL = attrgetter("internal_data")


class _Settled:
    """A (sub)workflow whose tasks were all finished at the last dump (a completed subprocess, mostly: about half
    the tasks a simulation's dumps visit): its tasks' text, and what `_Entry.holds` compares for each task, kept
    flat so that a few passes in C compare them all."""

    __slots__ = ("children", "fields", "internal_keys", "internal_sizes", "internal_values", "tasks", "text",
                 "workflow")

    def __init__(self, wf: BpmnBaseWorkflow, text: str) -> None:
        self.workflow, self.text = wf, text
        self.tasks = tuple(wf.tasks.values())
        self.fields = tuple(chain.from_iterable(map(_FIELDS, self.tasks)))
        self.children = [list(children) for children in map(_CHILDREN, self.tasks)]
        internals = list(map(_INTERNAL, self.tasks))
        self.internal_sizes = list(map(len, internals))
        self.internal_keys = tuple(chain.from_iterable(internals))
        self.internal_values = tuple(chain.from_iterable(map(dict.values, internals)))

    def holds(self, wf: BpmnBaseWorkflow) -> bool:
        """Every task of `wf` holds its kept fragment: the same task objects in the same order, each with the same
        state, stamp, spec, parent, data and internal-data objects, equal children, and the same internal-data keys
        and values (the sizes per task first, so that the flat sequences line up)."""
        tasks = wf.tasks
        if not (self.workflow is wf and len(tasks) == len(self.tasks) and all(map(is_, tasks.values(), self.tasks))
                and all(map(is_, chain.from_iterable(map(_FIELDS, self.tasks)), self.fields))
                and list(map(_CHILDREN, self.tasks)) == self.children):
            return False
        internals = list(map(_INTERNAL, self.tasks))
        return (list(map(len, internals)) == self.internal_sizes
                and all(map(is_, chain.from_iterable(internals), self.internal_keys))
                and all(map(is_, chain.from_iterable(map(dict.values, internals)), self.internal_values)))


class _Memo:
    """What the last dump of one workflow object left: fragments per (sub)workflow, encoded data, snapshots."""

    __slots__ = ("closures", "data", "entries", "settled", "snapshots")

    def __init__(self) -> None:
        self.entries: dict[int, tuple[BpmnBaseWorkflow, dict[int, _Entry]]] = {}
        # (Sub)workflows whose every task was finished (and a plain Task with a fragment, internal data a dict).
        self.settled: dict[int, _Settled] = {}
        self.data: dict[int, tuple[BpmnBaseWorkflow, dict[str, Any], tuple[Any, ...], tuple[Any, ...], str]] = {}
        # Snapshots of the containers reachable from the sources, by id() (None: reuse nothing next time), and the
        # ids reachable from each root (a source's data, a workflow's data value), by the root's id().
        self.snapshots: dict[int, tuple[Any, ...]] | None = {}
        self.closures: dict[int, tuple[Any, list[int]]] = {}


class _MemoTable:
    """Each workflow object's memo, kept on the object itself: a memo holds the workflow's tasks (and they the
    workflow), so in a table keyed weakly on the workflow it kept every workflow ever dumped alive; on the object it
    is part of the workflow's own cycles and goes with it. The slot names its owner (a weak reference), so a copy
    of the workflow, which copies the slot, finds no memo of its own and starts afresh."""

    _SLOT = "_engine_incremental_dump"

    def get(self, workflow: BpmnWorkflow) -> _Memo | None:
        slot = workflow.__dict__.get(self._SLOT)
        return slot[1] if slot is not None and slot[0]() is workflow else None

    def __getitem__(self, workflow: BpmnWorkflow) -> _Memo:
        memo = self.get(workflow)
        if memo is None:
            raise KeyError(workflow)
        return memo

    def __setitem__(self, workflow: BpmnWorkflow, memo: _Memo) -> None:
        workflow.__dict__[self._SLOT] = (weakref.ref(workflow), memo)

    def pop(self, workflow: BpmnWorkflow) -> _Memo | None:
        memo = self.get(workflow)
        workflow.__dict__.pop(self._SLOT, None)
        return memo


_MEMOS = _MemoTable()


class _Changed(Exception):
    """A finished task changed since the last dump: encode everything."""


def forget(workflow: BpmnWorkflow) -> None:
    """Drop what the last dump left (tests; and anyone who changes finished tasks behind Spiff's back)."""
    _MEMOS.pop(workflow)


def _snapshot(roots: list[Any]) -> list[tuple[Any, ...]] | None:
    """Shallow snapshots of every mutable container reachable from `roots`; None if a value of another type (whose
    changes a snapshot cannot see) is reachable, or the data is too deep."""
    seen: dict[int, Any] = {}
    if not _KNOWN.issuperset(map(type, roots)):  # a root's own in-place changes would go unseen too
        return None
    level = [root for root in roots if type(root) in _FOLLOWED]
    for _ in range(_MAX_LEVELS):
        if not level:
            break
        fresh = []
        for obj in level:
            if id(obj) not in seen:
                seen[id(obj)] = obj
                fresh.append(obj)
        refs = gc.get_referents(*fresh)
        if not _KNOWN.issuperset(map(type, refs)):
            return None
        level = list(compress(refs, map(_FOLLOWED.__contains__, map(type, refs))))
    else:
        return None
    snapshots: list[tuple[Any, ...]] = []
    for obj in seen.values():
        kind = type(obj)
        if kind is dict:
            snapshots.append((obj, tuple(obj), tuple(obj.values())))
        elif kind is not tuple:
            snapshots.append((obj, tuple(obj), ()))
    return snapshots


def _same_keys(data: dict[Any, Any], keys: tuple[Any, ...]) -> bool:
    return len(data) == len(keys) and all(map(is_, data, keys))


def _unchanged(snapshots: Iterable[tuple[Any, ...]]) -> bool:
    for obj, items, values in snapshots:
        if len(obj) != len(items) or not all(map(is_, obj, items)):
            return False
        if values and not all(map(is_, obj.values(), values)):
            return False
    return True


def _snapshots(roots: list[Any], previous: _Memo | None) -> tuple[dict[int, tuple[Any, ...]] | None,
                                                             dict[int, tuple[Any, list[int]]]]:
    """`_snapshot(roots)` by id(), walked root by root, and the ids each root reaches. A root of the previous dump
    (the same object) reaches the same containers as then, since that dump's snapshots were found unchanged at the
    start of this one (`previous` is None otherwise): each container holds the very same keys and values, so the
    walk would go the same way, meet the same types and take the same snapshots. Its ids and snapshots are taken
    over instead (about 6 roots in 7 in a simulation: the sources move by a few tasks per command)."""
    kept = previous.closures if previous is not None and previous.snapshots is not None else {}
    prior = previous.snapshots if previous is not None and previous.snapshots is not None else {}
    snapshots: dict[int, tuple[Any, ...]] = {}
    closures: dict[int, tuple[Any, list[int]]] = {}
    for root in roots:
        if type(root) not in _FOLLOWED:
            if type(root) in _IMMUTABLE:  # nothing to follow
                continue
            return None, {}  # its in-place changes could not be seen (as in `_snapshot`)
        key = id(root)
        if key in closures:
            continue
        old = kept.get(key)
        if old is not None and old[0] is root:
            ids = old[1]
            snapshots.update(zip(ids, map(prior.__getitem__, ids)))
        else:
            found = _snapshot([root])
            if found is None:
                return None, {}
            ids = list(map(id, map(_CONTAINER, found)))
            snapshots.update(zip(ids, found))
        closures[key] = (root, ids)
    return snapshots, closures


def _note_sources(task: Task, parent: Task | None, children: list[Task | None], sources: dict[int, Task],
                  joins: set[Any]) -> None:
    """An unfinished task's finished parent and children are sources (inheritance, multi-instance merges); if it is
    a join, its other instances' parents are too (noted by the caller from `joins`)."""
    if parent is not None and parent._state & _FINISHED:
        sources[id(parent)] = parent
    for child in children:
        if child is not None and child._state & _FINISHED:
            sources[id(child)] = child
    if isinstance(task.task_spec, Join):
        joins.add(task.task_spec)


class IncrementalDump:
    """Bound to the engine's FastStateDict; `dump_text(workflow, version)` is the state JSON with the version key."""

    def __init__(self, fast: FastStateDict, version_key: str) -> None:
        self.fast = fast
        self.version_key = _ENCODE(version_key)
        self.fallbacks = 0  # dumps that found a finished task or a shared container changed (for benchmarks)

    def dump_text(self, workflow: BpmnWorkflow, version: str) -> str:
        memo = _MEMOS.get(workflow)
        previous = (memo if memo is not None and memo.snapshots is not None and _unchanged(memo.snapshots.values())
                    else None)
        if memo is not None and previous is None:
            self.fallbacks += 1
        try:
            text, fresh = self._dump(workflow, version, previous)
        except _Changed:
            self.fallbacks += 1
            text, fresh = self._dump(workflow, version, None)
        _MEMOS[workflow] = fresh
        return text

    def _dump(self, workflow: BpmnWorkflow, version: str, previous: _Memo | None) -> tuple[str, _Memo]:
        fresh = _Memo()
        roots: list[Any] = []
        registry = self.fast.registry
        subs = []
        for task_id, sub in workflow.subprocesses.items():
            if type(sub) is BpmnSubWorkflow:
                body = self._common(sub, previous, fresh, roots)
                subs.append(f'{_ENCODE(str(task_id))}:{{{body},"parent_task_id":{_ENCODE(str(sub.parent_task_id))},'
                            f'"spec":{_ENCODE(sub.spec.name)},"typename":{_ENCODE(self.fast.sub_typename)}}}')
            else:
                subs.append(f"{_ENCODE(str(task_id))}:{_ENCODE(registry.convert(sub))}")
        body = self._common(workflow, previous, fresh, roots)
        text = (f'{{{body},"subprocesses":{{{",".join(subs)}}},'
                f'"bpmn_events":{_ENCODE(registry.convert(workflow.bpmn_events))},'
                f'"typename":{_ENCODE(self.fast.workflow_typename)},{self.version_key}:{_ENCODE(version)}}}')
        fresh.snapshots, fresh.closures = _snapshots(roots, previous)
        return text, fresh

    def _data_text(self, wf: BpmnBaseWorkflow, previous: _Memo | None, fresh: _Memo) -> str:
        data = wf.data
        kept = previous.data.get(id(wf)) if previous is not None else None
        keys, values = tuple(data), tuple(data.values())
        if (kept is not None and kept[0] is wf and kept[1] is data and len(keys) == len(kept[2])
                and all(map(is_, keys, kept[2])) and all(map(is_, values, kept[3]))):
            text = kept[4]
        else:
            text = _ENCODE(self.fast.convert(self.fast.registry.clean(data)))
        fresh.data[id(wf)] = (wf, data, keys, values, text)
        return text

    def _common(self, wf: BpmnBaseWorkflow, previous: _Memo | None, fresh: _Memo, roots: list[Any]) -> str:
        """The (sub)workflow dict's text up to "root" (FastStateDict._common), noting the sources in `roots`."""
        tasks, registry, convert, typename = wf.tasks, self.fast.registry, self.fast.convert, self.fast.task_typename
        kept = previous.entries.get(id(wf)) if previous is not None else None
        old = kept[1] if kept is not None and kept[0] is wf else {}
        settled = previous.settled.get(id(wf)) if previous is not None and old else None
        if settled is not None and settled.holds(wf):
            # What the loop below would do: every task finished and holding, each parent's fragment reused before
            # its children's (or the same text encoded again), no sources.
            fresh.entries[id(wf)] = (wf, old)
            fresh.settled[id(wf)] = settled
            return self._tail(wf, previous, fresh, roots, settled.text)
        entries: dict[int, _Entry] = {}
        reused: set[int] = set()  # id() of the tasks whose fragment was reused
        present: set[int] = set()  # id() of the tasks met so far (a parent comes before its children)
        parts: list[str] = []
        sources: dict[int, Task] = {}
        joins: set[Any] = set()
        for task in tasks.values():
            key = id(task)
            present.add(key)
            entry = old.get(key)
            if entry is not None:
                if entry.finished:
                    if not entry.holds(task):
                        raise _Changed(task.id)
                    # Its delta is against its parent's data: reused only with the parent's.
                    parent_task = entry.parent_task
                    usable = (id(parent_task) in reused if parent_task is not None
                              else task._parent is None or task._parent not in tasks)
                elif entry.own is None:  # a predicted task with no data of its own: structure and parent's keys
                    parent_task = entry.parent_task
                    usable = not task.data and not task.internal_data and entry.holds(task) and (
                        id(parent_task) in present and _same_keys(parent_task.data, entry.parent_keys)
                        if parent_task is not None
                        else task._parent is None or task._parent not in tasks)
                else:  # an open task with data: structure, parent's fragment, and every container of its own
                    parent_task = entry.parent_task
                    usable = (entry.holds(task) and (id(parent_task) in reused if parent_task is not None
                                                     else task._parent is None or task._parent not in tasks)
                              and _unchanged(entry.own))
                if usable:
                    reused.add(key)
                    entries[key] = entry
                    parts.append(entry.text)
                    if not entry.finished:
                        _note_sources(task, parent_task, entry.children_tasks, sources, joins)
                    continue
            if type(task) is not Task:
                parts.append(f'"{task.id}":{_ENCODE(registry.convert(task))}')
                continue
            parent_task = tasks.get(task._parent) if task._parent is not None else None
            dct = task_dict(task, tasks, convert, typename)
            text = f'"{dct["id"]}":{_ENCODE(dct)}'
            parts.append(text)
            state = task._state
            if state & _FINISHED:
                entries[key] = _Entry(task, parent_task, text)
                continue
            if state & _NOT_STARTED and not task.data and not task.internal_data:
                entry = entries[key] = _Entry(task, parent_task, text)
                children = entry.children_tasks
            else:
                own = _snapshot([task.data, task.internal_data]) if parent_task is None or id(parent_task) in reused \
                    else None
                if own is not None:
                    entry = entries[key] = _Entry(task, parent_task, text)
                    entry.own = own
                    children = entry.children_tasks
                else:
                    children = [tasks.get(child) for child in task._children]
            _note_sources(task, parent_task, children, sources, joins)
        if joins:
            for task in tasks.values():
                if task.task_spec in joins:
                    parent = tasks.get(task._parent) if task._parent is not None else None
                    if parent is not None and parent._state & _FINISHED:
                        sources[id(parent)] = parent
        fresh.entries[id(wf)] = (wf, entries)
        roots.extend(source.data for source in sources.values())
        text = ",".join(parts)
        if len(entries) == len(tasks) and not sources and all(entry.finished for entry in entries.values()) and all(
                type(task.internal_data) is dict for task in tasks.values()):
            fresh.settled[id(wf)] = _Settled(wf, text)
        return self._tail(wf, previous, fresh, roots, text)

    def _tail(self, wf: BpmnBaseWorkflow, previous: _Memo | None, fresh: _Memo, roots: list[Any],
              tasks_text: str) -> str:
        roots.extend(wf.data.values())
        last = wf.last_task
        return (f'"data":{self._data_text(wf, previous, fresh)},"correlations":{_ENCODE(wf.correlations)},'
                f'"last_task":{_ENCODE(str(last.id) if last is not None else None)},'
                f'"success":{_ENCODE(wf.success)},"completed":{_ENCODE(wf.completed)},'
                f'"tasks":{{{tasks_text}}},"root":{_ENCODE(str(wf.task_tree.id))}')
