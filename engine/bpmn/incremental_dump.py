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
  (a reset, a migration) or if a source held a value of a type whose changes a snapshot cannot see. The roots (a
  source's data, a workflow's data values) are kept per (sub)workflow (`_Group`): a group with the very same roots
  as at the last dump, when none of that dump's snapshots changed, reaches exactly the containers it reached then
  and is taken over whole; in another, each root of the last dump takes its own snapshots over, and only new roots
  are walked;
- a task that has not started (no data of its own): its delta lists its parent's keys, compared instead;
- an open task with data (a user task, a waiting timer): a snapshot of every container in its data and internal
  data, taken with its fragment, is unchanged.
Snapshots are kept flat (`_Flat`: the containers, their sizes, keys or items and dict values in a few sequences)
and compared in a few passes in C. A (sub)workflow the command did not touch (every fragment reused at the last dump)
or whose tasks all finished keeps its tasks' text whole (`_Frame`), reused when every task holds as above, checked
in one tight loop (internal data in C passes); with its data and the fields around its tasks the same objects, its
dict's text is reused whole.
What is left to a dump is about what the command changed: the tasks it touched or added, their snapshots, the
roots it added, plus the quick checks of what it did not touch.
"""

from __future__ import annotations

import gc
import json
import math
import weakref
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain, compress, repeat
from operator import attrgetter, is_, is_not
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow, BpmnSubWorkflow
from SpiffWorkflow.specs.Join import Join
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.fast_dump import FastStateDict
from engine.bpmn.fast_dump import _task_dict as task_dict
from engine.bpmn.task_ids import TaskId
from engine.json_values import SCALARS as _SCALARS

# The same text as json.dumps(..., separators=(",", ":"), check_circular=False) (ASCII: serialization.full_dump says
# why): what JSONEncoder.encode does, with the C encoder built once instead of per call (~100 small encodings per dump).
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)
_C_ENCODE = (json.encoder.c_make_encoder(None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ":", ",",
                                         False, False, True)
             if json.encoder.c_make_encoder is not None else None)
_LITERALS: dict[Any, str] = {None: "null", True: "true", False: "false"}


def _encode(value: Any) -> str:
    if value is None or value is True or value is False:
        return _LITERALS[value]
    if type(value) is str:
        return json.encoder.encode_basestring_ascii(value)
    if _C_ENCODE is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODE(value, 0))


_ENCODE = _encode
_IDS = frozenset({UUID, TaskId})  # whose str() is the UUID's text (task_ids.TaskId keeps it)
_FINISHED = TaskState.FINISHED_MASK
_NOT_STARTED = TaskState.FUTURE | TaskState.PREDICTED_MASK  # tasks that have not inherited data yet
_FOLLOWED = frozenset({dict, list, tuple, set})  # containers walked into (a tuple cannot change, its items can)
_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime, date, time, timedelta, Decimal, UUID})
_KNOWN = _FOLLOWED | _IMMUTABLE
_FINITE = math.isfinite
_MAX_LEVELS = 200  # deeper (or cyclic) data is not snapshotted: the next dump encodes every task


class _Entry:
    """A task's fragment and what it was computed from. `parent_task` and `children_tasks` are the objects behind
    the ids (a workflow object never replaces the task object of an id), so a reuse needs no UUID hashing. The
    entry holds for its task (the loop in `IncrementalDump._common` checks this inline) if the task has the same
    state, the same stamp, triggered, spec, parent-id, data and internal-data objects, equal children, and the very
    same internal-data keys and values."""

    __slots__ = ("children", "children_tasks", "data", "finished", "internal", "internal_keys", "internal_values",
                 "join", "lsc", "own", "parent", "parent_keys", "parent_task", "spec", "state", "text", "triggered")

    def __init__(self, task: Task, parent_task: Task | None, text: str) -> None:
        self.parent_task, self.text = parent_task, text  # the task itself is the entry's key in the memo
        self.state, self.lsc, self.triggered = task._state, task.last_state_change, task.triggered
        self.finished = bool(task._state & _FINISHED)
        self.spec, self.parent, self.children = task.task_spec, task._parent, list(task._children)
        self.join = isinstance(self.spec, Join)
        self.children_tasks = [] if self.finished else [task.workflow.tasks.get(child) for child in task._children]
        # A predicted task has no data: its delta lists its parent's keys as deletions, and nothing else.
        self.parent_keys = () if self.finished or parent_task is None else tuple(parent_task.data)
        self.data, self.internal = task.data, task.internal_data
        self.internal_keys, self.internal_values = tuple(task.internal_data), tuple(task.internal_data.values())
        # A running or waiting task's data changes in place: snapshots of everything in it (None: not kept).
        self.own: _Flat | None = None


_ENTRY_FINISHED = attrgetter("finished")
_TEXT = attrgetter("text")
_ATTR_CONTAINERS, _ATTR_SIZES, _ATTR_ITEMS, _ATTR_DICTS, _ATTR_VALUES = map(
    attrgetter, ("containers", "sizes", "items", "dicts", "values"))


class _Flat:
    """Shallow snapshots (the very keys or items, and a dict's values) of containers, kept flat so that `unchanged`
    compares them all in a few passes in C: the sizes first (so that the flat sequences line up), then every key or
    item, then every dict's values, by identity."""

    __slots__ = ("containers", "dicts", "items", "sizes", "values")

    def __init__(self, containers: list[Any]) -> None:
        self.containers = containers
        self.sizes = list(map(len, containers))
        self.items = tuple(chain.from_iterable(containers))
        self.dicts = list(compress(containers, map(is_, map(type, containers), repeat(dict))))
        self.values = tuple(chain.from_iterable(map(dict.values, self.dicts)))

    @classmethod
    def joined(cls, flats: Iterable[_Flat]) -> _Flat:
        """One `_Flat` of all the snapshots of `flats` (a container in two of them is compared twice)."""
        flats = list(flats)
        flat = cls.__new__(cls)
        flat.containers = list(chain.from_iterable(map(_ATTR_CONTAINERS, flats)))
        flat.sizes = list(chain.from_iterable(map(_ATTR_SIZES, flats)))
        flat.items = tuple(chain.from_iterable(map(_ATTR_ITEMS, flats)))
        flat.dicts = list(chain.from_iterable(map(_ATTR_DICTS, flats)))
        flat.values = tuple(chain.from_iterable(map(_ATTR_VALUES, flats)))
        return flat

    def unchanged(self) -> bool:
        """No container changed in place since the snapshots (as far as its keys, items and values go)."""
        return (list(map(len, self.containers)) == self.sizes
                and all(map(is_, chain.from_iterable(self.containers), self.items))
                and all(map(is_, chain.from_iterable(map(dict.values, self.dicts)), self.values)))


class _Frame:
    """A (sub)workflow each of whose tasks had a kept fragment at the last dump: the sources its tasks noted, and
    what the loop in `IncrementalDump._common` compares for each task, kept per task for one tight loop (internal
    data flat, compared in C passes): a completed subprocess, or an open one the command did not touch (~70% of the
    tasks a simulation's dumps visit). `holds` is what the loop would find: every task as its `_Entry` holds (the
    same task objects in the same order, each with the same state, stamp, spec, parent, data and internal-data
    objects, equal children, the same internal-data keys and values), every open task's own snapshots unchanged, every
    task that has not started still without data. A predicted task's parent keys need no check: that parent is
    a source (finished: the memo's snapshots, checked first, hold its keys), an open task (its own snapshots hold
    them) or a predicted one (no data). A parent listed after its child makes the loop encode the child again, to
    the same text. With every task the same, the sources are too: their data is taken over as roots."""

    __slots__ = ("empty", "internal_keys", "internal_sizes", "internal_values", "internals", "kept", "own", "roots",
                 "tasks", "workflow")

    def __init__(self, wf: BpmnBaseWorkflow, entries: Iterable[_Entry], roots: list[Any]) -> None:
        self.workflow, self.roots = wf, roots
        self.tasks = tuple(wf.tasks.values())
        # Per task what the loop compares, read by comprehensions and checked by a loop: Python 3.11 specializes
        # their attribute loads, and `attrgetter` maps (generic lookups) took ~2.7x as long (fan-out 36 mid-run).
        self.kept = [(t._state, t.last_state_change, t.triggered, t.task_spec, t._parent, t.data, list(t._children))
                     for t in self.tasks]
        self.internals = internals = [t.internal_data for t in self.tasks]
        self.internal_sizes = list(map(len, internals))
        self.internal_keys = tuple(chain.from_iterable(internals))
        self.internal_values = tuple(chain.from_iterable(map(dict.values, internals)))
        own = [entry.own for entry in entries if entry.own is not None]
        self.own = _Flat.joined(own) if own else None
        self.empty = [entry.data for entry in entries if not entry.finished and entry.own is None]

    def holds(self, wf: BpmnBaseWorkflow) -> bool:
        tasks, internals = wf.tasks, self.internals
        if not (self.workflow is wf and len(tasks) == len(self.tasks) and all(map(is_, tasks.values(), self.tasks))):
            return False
        for task, internal, (state, lsc, triggered, spec, parent, data, children) in zip(self.tasks, internals,
                                                                                       self.kept):
            if (task._state != state or task.last_state_change is not lsc or task.triggered is not triggered
                    or task.task_spec is not spec or task._parent is not parent or task.data is not data
                    or task.internal_data is not internal or task._children != children):
                return False
        return (list(map(len, internals)) == self.internal_sizes
                and all(map(is_, chain.from_iterable(internals), self.internal_keys))
                and all(map(is_, chain.from_iterable(map(dict.values, internals)), self.internal_values))
                and not any(map(len, self.empty))
                and (self.own is None or self.own.unchanged()))


class _Group:
    """Roots of a (sub)workflow, what each reaches (None for an immutable root) and all of it in one `_Flat`."""

    __slots__ = ("closures", "flat", "noted", "roots", "values", "workflow")

    def __init__(self, workflow: BpmnBaseWorkflow, noted: list[Any], values: tuple[Any, ...],
                 closures: list[tuple[Any, _Flat] | None]) -> None:
        # The roots: the noted sources' data, then the data's values (both objects kept: a frame's list of sources and
        # the data's values when its text was reused are the very same objects as at the last dump).
        self.workflow, self.noted, self.values, self.closures = workflow, noted, values, closures
        self.roots = (*noted, *values)
        self.flat = _Flat.joined(closure[1] for closure in closures if closure is not None)


class _Memo:
    """What the last dump of one workflow object left: fragments per (sub)workflow, encoded data, snapshots."""

    __slots__ = ("bodies", "data", "entries", "frames", "groups", "walked")

    def __init__(self) -> None:
        self.entries: dict[int, tuple[BpmnBaseWorkflow, dict[Task, _Entry]]] = {}
        # (Sub)workflows each of whose tasks had a fragment (internal data a dict), kept whole.
        self.frames: dict[int, _Frame] = {}
        self.data: dict[int, tuple[BpmnBaseWorkflow, dict[str, Any], tuple[Any, ...], tuple[Any, ...], str]] = {}
        # Per (sub)workflow, its roots (the data of the sources its tasks noted, its data's values), what each root
        # reaches (`_closures`) and all of that in one `_Flat` (None: reuse nothing next time).
        self.groups: dict[int, _Group] | None = {}
        self.walked: dict[int, tuple[Any, _Flat]] = {}  # the closures walked or taken over by this dump, by id(root)
        # Per (sub)workflow, its dict's text (a subprocess's entry) and what it was built from (compared by identity).
        self.bodies: dict[int, tuple[BpmnBaseWorkflow, tuple[Any, ...], str]] = {}

    def unchanged(self) -> bool:
        """Every snapshot of every root the last dump noted holds (none of its containers changed in place)."""
        return self.groups is not None and all(group.flat.unchanged() for group in self.groups.values())


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


def last_dump(workflow: BpmnWorkflow) -> _Memo | None:
    """What the last dump of this very workflow object left (None: none yet, or a copy). Its `data[id(wf)]` and
    `frames[id(wf)]` are the very objects an earlier dump made as long as each dump since found that (sub)workflow's
    data, or every one of its tasks, as then (reload_check.py skips what it checked then)."""
    return _MEMOS.get(workflow)


def forget(workflow: BpmnWorkflow) -> None:
    """Drop what the last dump left (tests; and anyone who changes finished tasks behind Spiff's back)."""
    _MEMOS.pop(workflow)


def _snapshot(roots: list[Any]) -> _Flat | None:
    """Shallow snapshots of every mutable container reachable from `roots`; None if a value of another type (whose
    changes a snapshot cannot see) is reachable, or the data is too deep."""
    seen: dict[int, Any] = {}
    if not _KNOWN.issuperset(map(type, roots)):  # a root's own in-place changes would go unseen too
        return None
    level = [root for root in roots if type(root) in _FOLLOWED]
    for _ in range(_MAX_LEVELS):
        if not level:
            break
        fresh = dict(zip(map(id, level), level))  # by id(), in C: data is mostly a tree, seldom met twice
        if seen:
            for key in fresh.keys() & seen.keys():
                del fresh[key]
        seen.update(fresh)
        refs = gc.get_referents(*fresh.values())
        if not _KNOWN.issuperset(map(type, refs)):
            return None
        level = list(compress(refs, map(_FOLLOWED.__contains__, map(type, refs))))
    else:
        return None
    containers = list(seen.values())
    return _Flat(list(compress(containers, map(is_not, map(type, containers), repeat(tuple)))))


def _closures(roots: Iterable[Any], prior: dict[int, tuple[Any, _Flat]]) -> list[tuple[Any, _Flat] | None] | None:
    """The snapshots of what each root reaches (`_snapshot`, None for an immutable root); None if a root cannot be
    followed. A root of the previous dump (the same object, in `prior` by id()) reaches the same containers as
    then, since that dump's snapshots were found unchanged at the start of this one (no reuse otherwise): each
    container holds the very same keys and values, so the walk would go the same way, meet the same types and take
    the same snapshots. They are taken over instead (about 6 roots in 7 in a simulation: the sources move by a
    few tasks per command)."""
    closures: list[tuple[Any, _Flat] | None] = []
    for root in roots:
        if type(root) not in _FOLLOWED:
            if type(root) in _IMMUTABLE:  # nothing to follow
                closures.append(None)
                continue
            return None  # its in-place changes could not be seen (as in `_snapshot`)
        old = prior.get(id(root))
        if old is None or old[0] is not root:
            found = _snapshot([root])
            if found is None:
                return None
            old = (root, found)
        closures.append(old)
    return closures


def _fragment(dct: dict[str, Any]) -> str:
    return f'"{dct["id"]}":{_ENCODE(dct)}'


def _bare_fragment(task: Task, parent_task: Task | None, typename: str) -> str | None:
    """`_fragment(task_dict(...))` of a task without data or internal data (a predicted one, mostly: ~half of the
    tasks a simulation's dumps encode), written directly; None if a field is not of the type the template assumes
    (the caller encodes the dict then)."""
    lsc, state, triggered, children = task.last_state_change, task._state, task.triggered, task._children
    if not (type(lsc) is float and _FINITE(lsc) and type(state) is int and type(triggered) is bool
            and type(task.id) in _IDS and _IDS.issuperset(map(type, children))):
        return None
    key = str(task.id)
    if parent_task is None:
        parent, delta = "null", "{}"
    else:
        parent = f'"{task._parent}"'
        delta = f'{{"updates":{{}},"deletions":{_ENCODE(list(parent_task.data))}}}'
    listed = '"' + '","'.join(map(str, children)) + '"' if children else ""
    return (f'"{key}":{{"id":"{key}","parent":{parent},"children":[{listed}],'
            f'"last_state_change":{float.__repr__(lsc)},"state":{int.__repr__(state)},'
            f'"task_spec":{_ENCODE(task.task_spec.name)},"triggered":{"true" if triggered else "false"},'
            f'"internal_data":{{}},"data":{{}},"delta":{delta},"typename":{_ENCODE(typename)}}}')


def _note_sources(task: Task, parent: Task | None, children: list[Task | None], sources: dict[Task, Task],
                  joins: set[Any]) -> None:
    """An unfinished task's finished parent and children are sources (inheritance, multi-instance merges); if it is
    a join, its other instances' parents are too (noted by the caller from `joins`)."""
    if parent is not None and parent._state & _FINISHED:
        sources[parent] = parent
    for child in children:
        if child is not None and child._state & _FINISHED:
            sources[child] = child
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
        previous = memo if memo is not None and memo.unchanged() else None
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
        registry = self.fast.registry
        subs = []
        for task_id, sub in workflow.subprocesses.items():
            if type(sub) is BpmnSubWorkflow:
                subs.append(self._common(sub, previous, fresh, task_id))
            else:
                subs.append(f"{_ENCODE(str(task_id))}:{_ENCODE(registry.convert(sub))}")
        body = self._common(workflow, previous, fresh, None)
        events = workflow.bpmn_events
        text = (f'{{{body},"subprocesses":{{{",".join(subs)}}},'
                f'"bpmn_events":{"[]" if type(events) is list and not events else _ENCODE(registry.convert(events))},'
                f'"typename":{_ENCODE(self.fast.workflow_typename)},{self.version_key}:{_ENCODE(version)}}}')
        fresh.walked = {}  # only needed while this dump built its groups
        return text, fresh

    def _group(self, wf: BpmnBaseWorkflow, previous: _Memo | None, fresh: _Memo, noted: list[Any],
               values: tuple[Any, ...]) -> None:
        """Note the roots of `wf` and their snapshots: the last dump's group if it had the very same roots."""
        key = id(wf)
        if fresh.groups is None:
            return
        kept = previous.groups.get(key) if previous is not None and previous.groups is not None else None
        roots = None
        if kept is not None and kept.workflow is wf:
            if kept.noted is noted and kept.values is values:
                fresh.groups[key] = kept
                return
            roots = (*noted, *values)
            if len(kept.roots) == len(roots) and all(map(is_, roots, kept.roots)):
                fresh.groups[key] = kept
                return
            for closure in kept.closures:  # take over what the same roots reached then
                if closure is not None:
                    fresh.walked.setdefault(id(closure[0]), closure)
        closures = _closures(roots if roots is not None else (*noted, *values), fresh.walked)
        if closures is None:
            fresh.groups = None
            return
        for closure in closures:
            if closure is not None:
                fresh.walked[id(closure[0])] = closure
        fresh.groups[key] = _Group(wf, noted, values, closures)

    def _data_text(self, wf: BpmnBaseWorkflow, previous: _Memo | None, fresh: _Memo) -> tuple[str, tuple[Any, ...]]:
        data = wf.data
        kept = previous.data.get(id(wf)) if previous is not None else None
        keys, values = tuple(data), tuple(data.values())
        if (kept is not None and kept[0] is wf and kept[1] is data and len(keys) == len(kept[2])
                and all(map(is_, keys, kept[2])) and all(map(is_, values, kept[3]))):
            fresh.data[id(wf)] = kept
            return kept[4], kept[3]  # the very tuple of values of the last dump (`_group` compares it by identity)
        # Only JSON scalars (a process's flat variables, all of them in the workflow's data once it ends): neither
        # `clean` (callables, modules) nor `convert` (containers, registered types) changes the dict, so it is
        # encoded as it is; one C pass instead of two Python ones over every value.
        text = _ENCODE(data if type(data) is dict and _SCALARS.issuperset(map(type, values))
                       else self.fast.convert(self.fast.registry.clean(data)))
        fresh.data[id(wf)] = (wf, data, keys, values, text)
        return text, values

    def _common(self, wf: BpmnBaseWorkflow, previous: _Memo | None, fresh: _Memo, sub_id: UUID | None) -> str:
        """The workflow dict's text up to "root" (FastStateDict._common), or a subprocess's entry in "subprocesses"
        (under `sub_id`), noting the roots (`_group`)."""
        tasks, registry, convert, typename = wf.tasks, self.fast.registry, self.fast.convert, self.fast.task_typename
        kept = previous.entries.get(id(wf)) if previous is not None else None
        old = kept[1] if kept is not None and kept[0] is wf else {}
        frame = previous.frames.get(id(wf)) if previous is not None and old else None
        if frame is not None and frame.holds(wf):  # what the loop below would do (_Frame)
            fresh.entries[id(wf)] = (wf, old)
            fresh.frames[id(wf)] = frame
            return self._tail(wf, previous, fresh, frame.roots, frame, old, sub_id)
        # Keyed by the task objects themselves: Task defines neither __eq__ nor __hash__, so a lookup hashes the
        # object's address in C (no `id()` call, no UUID hashing), and a workflow never replaces the task of an id.
        entries: dict[Task, _Entry] = {}
        reused: set[Task] = set()  # the tasks whose fragment was reused
        present: set[Task] = set()  # the tasks met so far (a parent comes before its children)
        parts: list[str] = []
        sources: dict[Task, Task] = {}
        joins: set[Any] = set()
        # The tasks of a Join spec met, each with its parent (the parents of a join's other instances are sources,
        # noted after the loop); collected here rather than by a second walk over every task.
        join_tasks: list[tuple[Task, Task | None]] = []
        old_get, present_add, reused_add, parts_append = old.get, present.add, reused.add, parts.append
        for task in tasks.values():
            present_add(task)
            entry = old_get(task)
            if entry is not None:
                # The entry's check (`_Entry`) and `_note_sources` inline, empty dicts tested before any `len`: this
                # loop visits every task of a touched workflow (a wide fan-out: ~4 per branch, most of them
                # predicted), and those calls were a third of its time.
                internal = task.internal_data
                if (entry.state == task._state and entry.lsc is task.last_state_change
                        and entry.triggered is task.triggered and entry.spec is task.task_spec
                        and entry.parent is task._parent and entry.data is task.data and entry.internal is internal
                        and entry.children == task._children
                        and ((not internal and not entry.internal_keys)
                             or (len(internal) == len(entry.internal_keys)
                                 and all(map(is_, internal, entry.internal_keys))
                                 and all(map(is_, internal.values(), entry.internal_values))))):
                    parent_task = entry.parent_task
                    if entry.finished:
                        # Its delta is against its parent's data: reused only with the parent's.
                        usable = (parent_task in reused if parent_task is not None
                                  else task._parent is None or task._parent not in tasks)
                    elif entry.own is None:  # a predicted task with no data of its own: its parent's keys
                        if task.data or internal:
                            usable = False
                        elif parent_task is not None:
                            keys, parent_data = entry.parent_keys, parent_task.data
                            usable = parent_task in present and (
                                not parent_data if not keys
                                else len(parent_data) == len(keys) and all(map(is_, parent_data, keys)))
                        else:
                            usable = task._parent is None or task._parent not in tasks
                    else:  # an open task with data: its parent's fragment, and every container of its own
                        usable = ((parent_task in reused if parent_task is not None
                                   else task._parent is None or task._parent not in tasks)
                                  and entry.own.unchanged())
                    if usable:
                        reused_add(task)
                        entries[task] = entry
                        parts_append(entry.text)
                        if entry.join:
                            join_tasks.append((task, parent_task if parent_task is not None or task._parent is None
                                               else tasks.get(task._parent)))
                        if not entry.finished:  # `_note_sources`
                            if parent_task is not None and parent_task._state & _FINISHED:
                                sources[parent_task] = parent_task
                            for child in entry.children_tasks:
                                if child is not None and child._state & _FINISHED:
                                    sources[child] = child
                            if entry.join:
                                joins.add(entry.spec)
                        continue
                elif entry.finished:
                    raise _Changed(task.id)
            parent_task = tasks.get(task._parent) if task._parent is not None else None
            if isinstance(task.task_spec, Join):
                join_tasks.append((task, parent_task))
            if type(task) is not Task:
                parts.append(f'"{task.id}":{_ENCODE(registry.convert(task))}')
                continue
            text = (_bare_fragment(task, parent_task, typename) if not task.data and not task.internal_data else None) \
                or _fragment(task_dict(task, tasks, convert, typename))
            parts.append(text)
            state = task._state
            if state & _FINISHED:
                entries[task] = _Entry(task, parent_task, text)
                continue
            if state & _NOT_STARTED and not task.data and not task.internal_data:
                entry = entries[task] = _Entry(task, parent_task, text)
                children = entry.children_tasks
            else:
                own = _snapshot([task.data, task.internal_data]) if parent_task is None or parent_task in reused \
                    else None
                if own is not None:
                    entry = entries[task] = _Entry(task, parent_task, text)
                    entry.own = own
                    children = entry.children_tasks
                else:
                    children = [tasks.get(child) for child in task._children]
            _note_sources(task, parent_task, children, sources, joins)
        if joins:
            for task, parent in join_tasks:
                # `parent`: the task object of its parent's id (a workflow never replaces the task object of an id),
                # if that id is still in `tasks` (`present`: every task in it, once the loop is done).
                if task.task_spec in joins and parent is not None and parent in present \
                        and parent._state & _FINISHED:
                    sources[parent] = parent
        fresh.entries[id(wf)] = (wf, entries)
        noted = [source.data for source in sources.values()]
        text = ",".join(parts)
        # A frame costs about what the loop does, and pays once reused: kept for a (sub)workflow the command did not
        # touch (every fragment reused) or one whose tasks all finished (a completed subprocess changes no more).
        if len(entries) == len(tasks) and (len(reused) == len(tasks) or all(map(_ENTRY_FINISHED, entries.values()))) \
                and {type(task.internal_data) for task in tasks.values()} <= {dict}:
            fresh.frames[id(wf)] = _Frame(wf, entries.values(), noted)
        return self._tail(wf, previous, fresh, noted, text, entries, sub_id)

    def _tail(self, wf: BpmnBaseWorkflow, previous: _Memo | None, fresh: _Memo, noted: list[Any],
              tasks: str | _Frame, entries: dict[Task, _Entry], sub_id: UUID | None) -> str:
        """`_common`'s text around the tasks' (`tasks`: their text, or the frame that held, whose tasks' text is the
        kept fragments' of `entries`): the last dump's if built from the very same objects (a frame that held counts
        for the tasks' text; not kept with correlations: a dict changed in place)."""
        data_text, values = self._data_text(wf, previous, fresh)
        self._group(wf, previous, fresh, noted, values)
        last, correlations = wf.last_task, wf.correlations
        key: tuple[Any, ...] = (tasks, data_text, last, wf.success, wf.completed, wf.task_tree)
        if sub_id is not None:
            key += (sub_id, wf.parent_task_id, wf.spec.name)
        kept = previous.bodies.get(id(wf)) if previous is not None and not correlations else None
        if kept is not None and kept[0] is wf and all(map(is_, key, kept[1])):
            text = kept[2]
        else:
            tasks_text = tasks if type(tasks) is str else ",".join(map(_TEXT, entries.values()))
            text = (f'"data":{data_text},"correlations":{_ENCODE(correlations)},'
                    f'"last_task":{_ENCODE(str(last.id) if last is not None else None)},'
                    f'"success":{_ENCODE(wf.success)},"completed":{_ENCODE(wf.completed)},'
                    f'"tasks":{{{tasks_text}}},"root":{_ENCODE(str(wf.task_tree.id))}')
            if sub_id is not None:
                text = (f'{_ENCODE(str(sub_id))}:{{{text},"parent_task_id":{_ENCODE(str(wf.parent_task_id))},'
                        f'"spec":{_ENCODE(wf.spec.name)},"typename":{_ENCODE(self.fast.sub_typename)}}}')
        if not correlations:  # an empty dict encodes the same whatever object it is
            fresh.bodies[id(wf)] = (wf, key, text)
        return text
