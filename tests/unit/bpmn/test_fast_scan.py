"""The patched `get_tasks` (engine/bpmn/fast_scan.py) against SpiffWorkflow's own iterator, on the corpus."""

from __future__ import annotations

import itertools
import random
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine.bpmn import fast_scan, runtime, serialization
from engine.bpmn.canonical import canonical_state
from engine.bpmn.parsing import ParsedProcess, load_process
from engine.errors import EngineError

ROOT = Path(__file__).resolve().parents[3]
CORPUS = sorted([*ROOT.glob("processes/*.bpmn"), *ROOT.glob("tests/data/bpmn/*.bpmn"), ROOT / "bench/approval_9.bpmn"])
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FILTERS: list[dict[str, Any]] = [
    {}, {"state": TaskState.READY}, {"state": TaskState.WAITING}, {"state": TaskState.READY, "manual": True},
    {"state": TaskState.NOT_FINISHED_MASK}, {"state": TaskState.FINISHED_MASK}, {"state": TaskState.COMPLETED},
    {"state": TaskState.PREDICTED_MASK}, {"state": TaskState.READY | TaskState.WAITING | TaskState.STARTED},
    {"skip_subprocesses": True}, {"state": TaskState.FINISHED_MASK, "skip_subprocesses": True},
    {"manual": False}, {"state": TaskState.READY, "manual": False}, {"lane": None, "state": TaskState.WAITING},
]
# Form answers that keep the sample processes moving (approve), and generic ones for the rest.
ANSWERS = {"decision": "approve", "opinion": "同意", "approved": True, "result": "approve", "complete": True}


@contextmanager
def stock() -> Iterator[None]:
    fast_scan.uninstall()
    try:
        yield
    finally:
        fast_scan.install()


def _ids(tasks: list[Any]) -> list[str]:
    return [str(t.id) for t in tasks]


def _check_every_filter(workflow: BpmnWorkflow) -> None:
    for wf in (workflow, *workflow.subprocesses.values()):
        for mask in (TaskState.WAITING, TaskState.READY, TaskState.NOT_FINISHED_MASK, TaskState.ANY_MASK):
            assert _ids(list(fast_scan.iter_state(wf.task_tree, mask))) == _ids(
                list(TaskIterator(wf.task_tree, state=mask))), mask
    spec_names = sorted({t.task_spec.name for t in workflow.tasks.values()})[:3]
    for filters in FILTERS + [{"spec_name": name} for name in spec_names] + [
            {"spec_name": name, "state": TaskState.COMPLETED} for name in spec_names]:
        expected = _ids(list(BpmnTaskIterator(workflow.task_tree, **filters)))
        assert _ids(workflow.get_tasks(**filters)) == expected, filters
        for sub in workflow.subprocesses.values():
            assert _ids(sub.get_tasks(**filters)) == _ids(list(BpmnTaskIterator(sub.task_tree, **filters))), filters


def _drive(parsed: ParsedProcess, check: bool, steps: int = 40,
           on_step: Callable[[BpmnWorkflow, runtime.StepResult], None] | None = None) -> BpmnWorkflow:
    """Start, then repeatedly complete the first open user task, the first started service task, or move the
    clock 30 days to fire timers; stop when done, stuck or a script refuses the generic answers. `on_step` sees
    the workflow and the result after the start and after every step."""
    now = T0
    workflow = runtime.new_workflow(parsed, {"project": "示范", "applicant_id": "A1", "limit": 5}, now)
    try:
        result = runtime.advance(workflow, now)
    except EngineError:
        return workflow
    for _ in range(steps):
        if on_step is not None:
            on_step(workflow, result)
        if check:
            _check_every_filter(workflow)
        try:
            if result.human_tasks:
                task = result.human_tasks[0]
                result = runtime.complete_user_task(workflow, task.spiff_task_id, dict(ANSWERS), now)
            elif result.job_requests or workflow.get_tasks(state=TaskState.STARTED):
                started = workflow.get_tasks(state=TaskState.STARTED)[0]
                result = runtime.complete_external_task(workflow, str(started.id), {"ok": True}, now)
            elif result.timers and not result.done:
                now += timedelta(days=30)
                result = runtime.advance(workflow, now)
            else:
                break
        except EngineError:
            break
    if check:
        _check_every_filter(workflow)
    return workflow


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_tasks_in_the_same_order_at_every_step(path: Path) -> None:
    assert fast_scan.installed()
    _drive(load_process(path.read_bytes(), file=path.name), check=True)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_end_state_as_stock(path: Path) -> None:
    parsed = load_process(path.read_bytes(), file=path.name)
    patched = canonical_state(_drive(parsed, check=False))
    with stock():
        assert not fast_scan.installed()
        unpatched = canonical_state(_drive(parsed, check=False))
    assert patched == unpatched


def test_deep_trees_fall_back_to_the_stock_iterator(monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "bench/approval_9.bpmn"
    workflow = _drive(load_process(path.read_bytes(), file=path.name), check=False, steps=3)
    monkeypatch.setattr(fast_scan, "DEPTH_GUARD", 2)
    for filters in FILTERS:
        assert _ids(workflow.get_tasks(**filters)) == _ids(list(BpmnTaskIterator(workflow.task_tree, **filters)))


def test_the_depth_limit_binds_as_in_spiff() -> None:
    path = ROOT / "bench/approval_9.bpmn"
    workflow = _drive(load_process(path.read_bytes(), file=path.name), check=False, steps=3)
    assert _ids(list(fast_scan.iter_state(workflow.task_tree, TaskState.ANY_MASK, max_depth=3))) == _ids(
        list(TaskIterator(workflow.task_tree, max_depth=3)))


def test_the_lazy_walk_follows_a_tree_changed_during_the_walk() -> None:
    """Like `update_waiting_tasks`, change the tree between steps: both walks see the same tasks."""
    path = ROOT / "bench/approval_9.bpmn"
    parsed = load_process(path.read_bytes(), file=path.name)
    text = serialization.dump_workflow(_drive(parsed, check=False, steps=3))
    seen: dict[str, list[str]] = {}
    for name in ("fast", "stock"):
        workflow = serialization.load_workflow(text, parsed.spec, parsed.subprocess_specs)
        walk = (fast_scan.iter_state(workflow.task_tree, TaskState.ANY_MASK) if name == "fast"
                else TaskIterator(workflow.task_tree))
        seen[name] = []
        for task in walk:
            seen[name].append(task.task_spec.name)
            if task.task_spec.name == "fork":  # prune the branches after the walk reached the fork
                task._drop_children(force=True)
    assert seen["fast"] == seen["stock"] and "join" not in seen["fast"]


def test_unhandled_arguments_go_to_the_stock_iterator() -> None:
    path = ROOT / "bench/approval_9.bpmn"
    workflow = _drive(load_process(path.read_bytes(), file=path.name), check=False, steps=3)
    for filters in ({"end_at_spec": "join"}, {"max_depth": 3}, {"depth_first": False}):
        assert _ids(workflow.get_tasks(**filters)) == _ids(list(BpmnTaskIterator(workflow.task_tree, **filters)))
    assert list(itertools.islice(workflow.get_tasks_iterator(), 3))


# `find` (the matches taken from the task dicts, ordered by path) against Spiff's iterator.
FIND_FILTERS = [filters for filters in FILTERS if filters.keys() <= fast_scan._FIND_KEYS]


def _check_find(workflow: BpmnWorkflow, answered: list[int] | None = None, every_name: bool = False) -> None:
    """`find` where it answers, and `get_tasks`, against the iterator on the workflow and each subprocess; spec names
    of each (sub)workflow, or with `every_name` of all of them, alone and with states the matches are few for."""
    names = sorted({t.task_spec.name for wf in (workflow, *workflow.subprocesses.values()) for t in wf.tasks.values()})
    for wf in (workflow, *workflow.subprocesses.values()):
        spec_names = names if every_name else sorted({t.task_spec.name for t in wf.tasks.values()})
        by_name = [{"spec_name": name, **extra} for name in spec_names for extra in (
            {}, {"state": TaskState.COMPLETED}, {"state": TaskState.FINISHED_MASK, "skip_subprocesses": True})]
        for filters in FIND_FILTERS + by_name:
            expected = _ids(list(BpmnTaskIterator(wf.task_tree, **filters)))
            found = fast_scan.find(wf, **filters)
            if found is not None:
                assert _ids(found) == expected, filters
                if answered is not None:
                    answered[0] += 1
            assert _ids(wf.get_tasks(**filters)) == expected, filters


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_find_gives_the_iterators_tasks_at_every_step(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = sys.modules[__name__]
    answered = [0]
    monkeypatch.setattr(driver, "_check_every_filter", lambda workflow: _check_find(workflow, answered))
    _drive(load_process(path.read_bytes(), file=path.name), check=True)
    assert answered[0] > 0  # the corpus exercises it (not only the fallbacks)


def _approval_9_mid_run() -> BpmnWorkflow:
    path = ROOT / "bench/approval_9.bpmn"
    return _drive(load_process(path.read_bytes(), file=path.name), check=False, steps=3)


def _owner(workflow: BpmnWorkflow, sub: Any) -> Any:
    return workflow.get_task_from_id(sub.parent_task_id)


def test_find_skips_what_the_scan_does_not_descend_into() -> None:
    """Trees Spiff does not build itself: a READY task under a predicted one (not reached), subprocesses run by a
    task below FUTURE or by a finished one (reached), a subprocess whose task is gone or runs another subprocess
    (not reached), a task that is not in its parent's children (not reached)."""
    workflow = _approval_9_mid_run()
    subs = list(workflow.subprocesses.values())
    predicted = next(t for t in workflow.tasks.values() if t._state & TaskState.PREDICTED_MASK and t._children)
    workflow.tasks[predicted._children[0]]._state = TaskState.READY
    _check_find(workflow, every_name=True)
    _owner(workflow, subs[0])._state = TaskState.CANCELLED  # finished (Spiff's `state >= FINISHED_MASK` is not)
    _owner(workflow, subs[1])._state = TaskState.LIKELY  # below FUTURE, yet its children and subprocess are walked
    _check_find(workflow, every_name=True)
    _check_reached(workflow)
    orphan = subs[2]
    del workflow.subprocesses[orphan.parent_task_id]
    workflow.subprocesses[uuid4()] = orphan  # run by no task
    copy = serialization.load_workflow(serialization.full_dump(workflow), workflow.spec, workflow.subprocess_specs)
    workflow.subprocesses[uuid4()] = copy.subprocesses[subs[3].parent_task_id]  # names a task that runs subs[3]
    _check_find(workflow, every_name=True)
    _check_reached(workflow)
    sub = subs[4]
    leaf = next(t for t in sub.tasks.values() if t._parent is not None and not t._children)
    sub.tasks[leaf._parent]._children.remove(leaf.id)  # still names its parent, but is not its child
    leaf._state = TaskState.READY
    _check_find(workflow, every_name=True)
    _check_reached(workflow)


def test_find_gives_way_to_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = _approval_9_mid_run()
    sub = next(iter(workflow.subprocesses.values()))
    assert fast_scan.find(workflow, state=TaskState.READY) is not None
    assert fast_scan.find(workflow, _owner(workflow, sub), state=TaskState.READY) is None  # not from the root
    assert fast_scan.find(workflow, state=TaskState.ANY_MASK) is None  # too many matches
    monkeypatch.setattr(fast_scan, "DEPTH_GUARD", len(workflow.tasks))
    assert fast_scan.find(workflow, state=TaskState.READY) is None  # the tree might be as deep as the guard
    assert fast_scan.find(sub, state=TaskState.READY) is not None
    for filters in FIND_FILTERS:
        assert _ids(workflow.get_tasks(**filters)) == _ids(list(BpmnTaskIterator(workflow.task_tree, **filters)))



@pytest.mark.parametrize("seed", range(2))
def test_find_answers_for_a_wide_fork_in_the_scans_order(seed: int) -> None:
    """30 open branches (more than FIND_LIMIT, under a quarter of the tasks): `find` answers rather than the scan,
    with the iterator's tasks in its order, as branches complete in any order."""
    from tests.unit.bpmn.test_fast_join import _fan_out

    rng = random.Random(seed)
    workflow = runtime.new_workflow(load_process(_fan_out(30), file="wide.bpmn"), {}, T0)
    result = runtime.advance(workflow, T0)
    widest = 0
    while result.human_tasks:
        for filters in ({"state": TaskState.READY}, {"state": TaskState.READY | TaskState.WAITING}):
            expected = _ids(list(BpmnTaskIterator(workflow.task_tree, **filters)))
            found = fast_scan.find(workflow, **filters)
            assert found is not None and _ids(found) == expected, filters
            widest = max(widest, len(found))
        task = rng.choice(result.human_tasks)
        result = runtime.complete_user_task(workflow, task.spiff_task_id, {task.bpmn_id: "同意"}, T0)
    assert widest == 30 and workflow.is_completed()

# `reached` (the parallel join's question: the scan's tasks of one spec, unordered, with parent and descent).
def _check_reached(workflow: BpmnWorkflow, answered: list[int] | None = None) -> None:
    """`reached` against the iterator, the `parent` property and `is_descendant_of`, on the workflow and each
    subprocess, for every spec name, with each task of that spec, the root and a few others as the anchor."""
    names = sorted({t.task_spec.name for wf in (workflow, *workflow.subprocesses.values()) for t in wf.tasks.values()})
    for wf in (workflow, *workflow.subprocesses.values()):
        others = list(wf.tasks.values())[::7]
        for name in names:
            expected = sorted(_ids(list(BpmnTaskIterator(wf.task_tree, spec_name=name))))
            for anchor in [t for t in wf.tasks.values() if t.task_spec.name == name] + [wf.task_tree, *others]:
                found = fast_scan.reached(wf, name, anchor)
                if found is None:
                    continue
                assert sorted(str(task.id) for task, _parent, _below in found) == expected, name
                for task, parent, below in found:
                    assert parent is task.parent
                    assert below == task.is_descendant_of(anchor)
                if answered is not None:
                    answered[0] += 1


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_reached_gives_the_iterators_tasks_at_every_step(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = sys.modules[__name__]
    answered = [0]
    monkeypatch.setattr(driver, "_check_every_filter", lambda workflow: _check_reached(workflow, answered))
    _drive(load_process(path.read_bytes(), file=path.name), check=True)
    assert answered[0] > 0


def test_reached_gives_way_on_deep_trees_and_odd_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = _approval_9_mid_run()
    assert fast_scan.reached(workflow, "Root", workflow.task_tree) is not None
    sub = next(iter(workflow.subprocesses.values()))
    sub.task_tree._parent = next(iter(sub.tasks))  # a root naming a parent: the walk would not stop at it
    assert fast_scan.reached(sub, "Root", sub.task_tree) is None
    monkeypatch.setattr(fast_scan, "DEPTH_GUARD", len(workflow.tasks))
    assert fast_scan.reached(workflow, "Root", workflow.task_tree) is None


def test_reached_compares_child_ids_by_value_when_not_the_same_objects() -> None:
    """After a load from JSON a parent lists its children under other UUID objects than the tasks' own ids."""
    workflow = _approval_9_mid_run()
    wide = max(workflow.tasks.values(), key=lambda t: len(t._children))
    assert len(wide._children) > fast_scan._SHORT
    wide._children = [UUID(str(child)) for child in wide._children]
    _check_reached(workflow)


def test_is_completed_answers_as_stock_at_every_step(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = sys.modules[__name__]
    def check(workflow: BpmnWorkflow) -> None:
        for wf in (workflow, *workflow.subprocesses.values()):
            saved = wf.completed  # once True, both answer True without a walk: compare the walks
            wf.completed = False
            fast = (fast_scan._is_completed(wf), wf.completed)
            wf.completed = False
            stock = (fast_scan._STOCK_IS_COMPLETED(wf), wf.completed)
            assert fast == stock
            wf.completed = saved or stock[1]

    seen = []
    for path in CORPUS:
        monkeypatch.setattr(driver, "_check_every_filter", check)
        seen.append(_drive(load_process(path.read_bytes(), file=path.name), check=True).is_completed())
    assert any(seen) and not all(seen)


# The memo of COMPLETED chains (`_hangs_from_root`), which the walks up of `find` and `is_completed` go through.
def _sequence(tasks: int) -> ParsedProcess:
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{"start" if i == 0 else f"t{i}"}" '
                    f'targetRef="{f"t{i + 1}" if i < tasks else "end"}"/>' for i in range(tasks + 1))
    steps = "".join(f'<bpmn:userTask id="t{i}"><bpmn:incoming>f{i - 1}</bpmn:incoming>'
                    f'<bpmn:outgoing>f{i}</bpmn:outgoing></bpmn:userTask>' for i in range(1, tasks + 1))
    xml = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">'
           '<bpmn:process id="seq" isExecutable="true"><bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing>'
           f'</bpmn:startEvent>{steps}<bpmn:endEvent id="end"><bpmn:incoming>f{tasks}</bpmn:incoming></bpmn:endEvent>'
           f'{flows}</bpmn:process></bpmn:definitions>')
    return load_process(xml.encode(), file="seq.bpmn")


def _same_as_stock(workflow: BpmnWorkflow) -> None:
    _check_find(workflow, every_name=True)
    workflow.completed = False
    fast = fast_scan._is_completed(workflow)
    workflow.completed = False
    assert fast == fast_scan._STOCK_IS_COMPLETED(workflow)


def _flagged(workflow: BpmnWorkflow) -> list[str]:
    return [t.task_spec.name for t in workflow.tasks.values() if t.__dict__.get(fast_scan._ROOTED)]


def _complete_ready(workflow: BpmnWorkflow) -> None:
    [ready] = workflow.get_tasks(state=TaskState.READY, manual=True)
    runtime.complete_user_task(workflow, str(ready.id), {}, T0)


def test_the_memo_of_completed_chains_answers_as_stock() -> None:
    """Along a sequence the memo grows with each command (a walk up stops at the last flagged task); a branch
    reset takes its task out of COMPLETED and drops what was below, and the answers stay stock's."""
    workflow = runtime.new_workflow(_sequence(12), {}, T0)
    runtime.advance(workflow, T0)
    flagged = []
    for _ in range(6):
        _complete_ready(workflow)
        _same_as_stock(workflow)
        flagged.append(len(_flagged(workflow)))
    assert flagged == sorted(flagged) and flagged[-1] > flagged[0] > 0
    assert {"t1", "t5"} <= set(_flagged(workflow))
    third = next(t for t in workflow.tasks.values() if t.task_spec.name == "t3")
    third.reset_branch(None)
    workflow.completed = False
    _same_as_stock(workflow)
    while not workflow.is_completed():
        _complete_ready(workflow)
        _same_as_stock(workflow)
    assert workflow.last_task is not None and workflow.last_task.task_spec.name == "End"


def test_the_memo_walks_only_through_completed_tasks() -> None:
    """A COMPLETED task below one that is not (by hand: Spiff's own trees have none) is not reached by a scan of
    finished tasks, which descends only into tasks at least COMPLETED, nor is a task under a parent that does not
    list it: the memo must flag neither (a load from JSON starts without flags)."""
    workflow = runtime.new_workflow(_sequence(8), {}, T0)
    runtime.advance(workflow, T0)
    for _ in range(5):
        _complete_ready(workflow)
    loaded = serialization.load_workflow(serialization.full_dump(workflow), workflow.spec, workflow.subprocess_specs)
    assert _flagged(loaded) == []
    next(t for t in loaded.tasks.values() if t.task_spec.name == "t2")._state = TaskState.STARTED
    _same_as_stock(loaded)
    assert "t4" not in _flagged(loaded)
    # A COMPLETED task its parent does not list (by hand) cuts off everything below it, the READY task included.
    loaded = serialization.load_workflow(serialization.full_dump(workflow), workflow.spec, workflow.subprocess_specs)
    third = next(t for t in loaded.tasks.values() if t.task_spec.name == "t3")
    loaded.tasks[third._parent]._children.remove(third.id)
    _same_as_stock(loaded)
    assert loaded.get_tasks(state=TaskState.READY) == [] and "t4" not in _flagged(loaded)
