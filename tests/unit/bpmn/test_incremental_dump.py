"""The incremental state JSON (engine/bpmn/incremental_dump.py) is the full dump's text, at every step of the corpus
and after every kind of change that must not reuse a kept fragment."""

from __future__ import annotations

import copy
import gc
import json
import random
import weakref
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import incremental_dump, runtime, serialization
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_join import _fan_out
from tests.unit.bpmn.test_fast_scan import ANSWERS, CORPUS, ROOT, T0, _drive

APPROVAL_9 = ROOT / "bench/approval_9.bpmn"


def _same(workflow: BpmnWorkflow) -> str:
    text = serialization.dump_workflow(workflow)
    assert text == serialization.full_dump(workflow)
    return text


def _fallbacks() -> int:
    return serialization._INCREMENTAL.fallbacks


def _mid_run(steps: int = 3) -> BpmnWorkflow:
    workflow = _drive(load_process(APPROVAL_9.read_bytes(), file=APPROVAL_9.name), check=False, steps=steps)
    _same(workflow)  # the first dump keeps the fragments
    return workflow


def _all_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return [task for wf in (workflow, *workflow.subprocesses.values()) for task in wf.tasks.values()]


def _ready_user_task(workflow: BpmnWorkflow) -> Task:
    return next(t for t in _all_tasks(workflow) if t.state == TaskState.READY and t.task_spec.manual)


def _kept_closures(workflow: BpmnWorkflow) -> dict[int, Any]:
    """What each root of the last dump reaches, by id(root) (incremental_dump._closures)."""
    groups = incremental_dump._MEMOS[workflow].groups
    assert groups is not None
    return {id(closure[0]): closure for group in groups.values() for closure in group.closures if closure is not None}


def _walked(workflow: BpmnWorkflow, root: Any) -> Any:
    """The snapshots kept for what `root` reaches."""
    return _kept_closures(workflow)[id(root)][1]


def _reused(workflow: BpmnWorkflow) -> int:
    memo = incremental_dump._MEMOS[workflow]
    return sum(len(entries) for _wf, entries in memo.entries.values())


def test_the_incremental_path_is_taken() -> None:
    workflow = _mid_run()
    assert incremental_dump._MEMOS.get(workflow) is not None
    assert _reused(workflow) > len(_all_tasks(workflow)) // 2


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_text_as_the_full_dump_at_every_step(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.unit.bpmn.test_fast_scan as driver

    before = _fallbacks()
    monkeypatch.setattr(driver, "_check_every_filter", _same)
    workflow = _drive(load_process(path.read_bytes(), file=path.name), check=True)
    text = _same(workflow)
    assert _fallbacks() == before  # nothing in the corpus changes a finished task or a shared container
    reloaded = serialization.load_workflow(text, workflow.spec, workflow.subprocess_specs)
    assert incremental_dump._MEMOS.get(reloaded) is None  # a reload starts afresh
    assert _same(reloaded) == text
    assert _same(reloaded) == text  # and its second dump reuses its own fragments


def test_in_place_change_of_a_ready_tasks_data() -> None:
    workflow = _mid_run()
    task = _ready_user_task(workflow)
    task.data["opinion"] = "改"  # a new key: its predicted children's deltas list it as deleted
    _same(workflow)
    task.data["opinion"] = "同意"
    _same(workflow)
    del task.data["opinion"]
    _same(workflow)


def test_in_place_change_of_a_container_shared_with_finished_tasks() -> None:
    """Spiff copies data one level deep: a value nested in a dict is the same object in a parent and its children.
    A script of the running child that appends to it changes the finished parent's data too."""
    workflow = _mid_run()
    task = _ready_user_task(workflow)
    parent = task.parent
    assert parent is not None and parent.state == TaskState.COMPLETED
    shared: list[Any] = ["甲"]
    parent.data["form"] = {"items": shared}
    task.data["form"] = {"items": shared}
    serialization.full_dump(workflow)
    incremental_dump.forget(workflow)  # the parent was changed behind Spiff's back above: start afresh
    _same(workflow)
    before = _fallbacks()
    task.data["form"]["items"].append("乙")  # what `form["items"].append(...)` in the child's script does
    _same(workflow)
    assert _fallbacks() == before + 1
    task.data["form"]["items"] = ["丙"]  # replaced in the child only: the parent keeps ["甲", "乙"]
    _same(workflow)


def test_snapshots_taken_over_from_the_last_dump_still_see_a_change() -> None:
    """A source that was one at the last dump too keeps the snapshots its data reached then (incremental_dump.
    _snapshots): a change deep inside it, or inside a container put in it since, is still seen."""
    workflow = _mid_run()
    task = _ready_user_task(workflow)
    parent = task.parent
    assert parent is not None and parent.state == TaskState.COMPLETED
    shared: list[Any] = [{"level": ["甲"]}]
    parent.data["form"] = {"items": shared}
    task.data["form"] = {"items": shared}
    incremental_dump.forget(workflow)  # the parent was changed behind Spiff's back above: start afresh
    _same(workflow)
    walked = _walked(workflow, parent.data)
    assert any(container is shared[0]["level"] for container in walked.containers)
    _same(workflow)
    assert _walked(workflow, parent.data) is walked  # taken over, not walked again
    before = _fallbacks()
    shared[0]["level"].append("乙")  # three containers below the parent's data
    _same(workflow)
    assert _fallbacks() == before + 1
    _same(workflow)  # walked afresh after the change, then taken over
    shared[0]["more"] = added = ["丙"]  # a container no walk has met yet, in a dict the last one met
    _same(workflow)
    assert _fallbacks() == before + 2
    _same(workflow)
    assert any(container is added for container in _walked(workflow, parent.data).containers)
    added.append("丁")
    _same(workflow)
    assert _fallbacks() == before + 3
    task.data["form"] = {"items": ["戊"]}  # the child lets go of the shared list: only the parent holds it now
    _same(workflow)
    _same(workflow)


def test_a_root_that_cannot_be_followed_turns_reuse_off_for_the_next_dump() -> None:
    workflow = _mid_run()
    prior = _kept_closures(workflow)
    kept_root = next(root for root, _flat in prior.values())
    assert incremental_dump._closures([kept_root, {"odd": [object()]}], prior) is None
    assert incremental_dump._closures([kept_root, bytearray(b"odd")], prior) is None  # a root itself
    assert incremental_dump._snapshot([{"a": 1}, bytearray(b"odd")]) is None
    closures = incremental_dump._closures([kept_root, "text", 5], prior)
    assert closures is not None and closures[1:] == [None, None]
    assert closures[0] is prior[id(kept_root)]  # taken over
    closures = incremental_dump._closures([kept_root], {})  # no previous dump to take over from
    assert closures is not None and closures[0] is not None and closures[0][1] is not prior[id(kept_root)][1]
    assert closures[0][1].containers == prior[id(kept_root)][1].containers


def test_in_place_change_of_workflow_data() -> None:
    workflow = _mid_run()
    workflow.data["materials"] = ["M1"]
    _same(workflow)
    workflow.data["materials"].append("M2")
    _same(workflow)


def test_a_workflow_data_value_replaced_then_changed_in_place() -> None:
    """The roots of the data's group are as many as before, not the same: the new list is walked, so its change is
    seen (the data's text is reused when its values are the same objects)."""
    workflow = _mid_run()
    workflow.data["materials"] = ["M1"]
    _same(workflow)
    _same(workflow)
    workflow.data["materials"] = ["M2"]
    _same(workflow)
    workflow.data["materials"].append("M3")
    _same(workflow)
    _same(workflow)


def test_flat_workflow_data_encoded_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workflow data of JSON scalars only (int keys too, which JSON writes as strings) is encoded without `clean`
    and `convert`, to the same text; anything else still goes through them."""
    workflow = _mid_run()
    monkeypatch.setenv("APPROVALS_CHECK_DUMPS", "0")  # its full dump cleans the data: compared below instead
    cleaned: list[Any] = []
    clean = serialization._FAST.registry.clean
    monkeypatch.setattr(serialization._FAST.registry, "clean", lambda obj: cleaned.append(obj) or clean(obj))
    workflow.data.clear()
    workflow.data.update({"name": "示范", "n": 3, "x": 0.5, "nan": float("nan"), "ok": True, "none": None, 7: "k"})
    text = serialization.dump_workflow(workflow)
    assert not any(obj is workflow.data for obj in cleaned)
    assert text == serialization.full_dump(workflow) and '"7":"k"' in text
    workflow.data["nested"] = {"a": [1]}
    workflow.data["callable"] = len  # dropped by `clean`: not in the state
    text = serialization.dump_workflow(workflow)
    assert any(obj is workflow.data for obj in cleaned)
    assert text == serialization.full_dump(workflow) and '"callable"' not in text and '"nested":{"a":[1]}' in text


def test_the_state_is_ascii_and_loads_back_its_chinese_text() -> None:
    """Non-ASCII text in the data is written as \\u escapes (full and incremental dumps alike): the stored str stays
    one byte per character, so binding and reading it skip the UTF-8 transcoding of the whole state."""
    workflow = _mid_run()
    task = next(t for t in workflow.tasks.values() if t.state == TaskState.STARTED)  # its data changes in place
    task.data["意见"] = "同意，材料齐全"
    workflow.data["项目名称"] = "呼和浩特示范项目"
    text = _same(workflow)
    assert text.isascii() and "\\u610f\\u89c1" in text  # 意见
    reloaded = serialization.load_workflow(text, workflow.spec, workflow.subprocess_specs)
    assert reloaded.data["项目名称"] == "呼和浩特示范项目"
    assert reloaded.get_task_from_id(task.id).data["意见"] == "同意，材料齐全"
    assert serialization.dump_workflow(reloaded) == text
    # A state written before (the characters as they are) loads to the same workflow.
    older = text.encode().decode("unicode_escape")
    assert not older.isascii()
    assert serialization.dump_workflow(serialization.load_workflow(older, workflow.spec, workflow.subprocess_specs)) == text


def test_a_child_added_to_a_finished_task() -> None:
    workflow = _mid_run()
    finished = next(t for t in workflow.tasks.values() if t.state == TaskState.COMPLETED and t.children)
    before = _fallbacks()
    finished._add_child(finished.children[0].task_spec, TaskState.FUTURE)
    _same(workflow)
    assert _fallbacks() == before + 1


def test_internal_data_of_a_waiting_timer_and_of_a_finished_task() -> None:
    workflow = _mid_run()
    timer = next(t for t in _all_tasks(workflow) if t.state == TaskState.WAITING and t.internal_data)
    timer.internal_data["event_value"] = "2030-01-01T00:00:00+00:00"  # a moved due, in place
    _same(workflow)
    finished = next(t for t in _all_tasks(workflow) if t.state & TaskState.FINISHED_MASK and t.internal_data)
    finished.internal_data["engine_note"] = 1
    _same(workflow)
    finished.internal_data = {}
    _same(workflow)


def test_reset_and_cancel() -> None:
    workflow = _mid_run(steps=6)
    done = [t for t in workflow.tasks.values() if t.state == TaskState.COMPLETED and t.task_spec.manual]
    if done:
        workflow.reset_from_task_id(done[0].id)
        _same(workflow)
    workflow.cancel()
    _same(workflow)


def test_a_value_a_snapshot_cannot_follow_turns_reuse_off_for_the_next_dump() -> None:
    nested: list[Any] = [1, {"b": (2, [3])}]
    snapshots = incremental_dump._snapshot([{"a": nested}, "text", 5])
    assert snapshots is not None and {id(c) for c in snapshots.containers} == {
        id(nested), id(nested[1]), id(nested[1]["b"][1])} | {
        id(next(iter(c for c in snapshots.containers if type(c) is dict and "a" in c)))}
    assert incremental_dump._snapshot([{"a": [object()]}]) is None  # its changes cannot be seen by a snapshot
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert incremental_dump._snapshot([cyclic]) is not None

    workflow = _mid_run()
    incremental_dump._MEMOS[workflow].groups = None
    before = _fallbacks()
    _same(workflow)
    assert _fallbacks() == before + 1
    assert incremental_dump._MEMOS[workflow].groups is not None


def test_commands_in_a_row_on_the_same_object() -> None:
    """Complete every review of approval_9 one by one, firing its timers once, dumping after each command."""
    parsed = load_process(APPROVAL_9.read_bytes(), file=APPROVAL_9.name)
    now = T0
    workflow = runtime.new_workflow(parsed, {"project": "示范", "applicant_id": "A1", "limit": 5}, now)
    result = runtime.advance(workflow, now)
    _same(workflow)
    before = _fallbacks()
    jobs: list[str] = []
    for step in range(40):
        jobs += [request.spiff_task_id for request in result.job_requests]
        if result.human_tasks:
            result = runtime.complete_user_task(workflow, result.human_tasks[-1].spiff_task_id, dict(ANSWERS), now)
        elif jobs:
            result = runtime.complete_external_task(workflow, jobs.pop(0), {"ok": True}, now)
        else:
            break
        if step == 2:
            now += timedelta(days=30)
            result = runtime.advance(workflow, now)
        _same(workflow)
        assert _noted(workflow) == _noted_afresh(workflow)
    assert result.done and _fallbacks() == before


def test_the_suite_checks_every_dump_against_the_full_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # tests/conftest.py sets APPROVALS_CHECK_DUMPS=1: a wrong reuse anywhere in the suite fails the test that made it.
    workflow = _mid_run()
    monkeypatch.setattr(serialization._INCREMENTAL, "dump_text", lambda wf, version: "{}")
    with pytest.raises(serialization.DumpMismatch):
        serialization.dump_workflow(workflow)
    monkeypatch.setenv("APPROVALS_CHECK_DUMPS", "0")  # production: the text as built, no second dump
    assert serialization.dump_workflow(workflow) == "{}"


def _settled_subprocess(workflow: BpmnWorkflow) -> Any:
    """A completed subprocess whose tasks' text the last two dumps kept whole (incremental_dump._Frame)."""
    _same(workflow)
    sub = next(sub for sub in workflow.subprocesses.values()
               if all(t.state & TaskState.FINISHED_MASK for t in sub.tasks.values()))
    kept = incremental_dump._MEMOS[workflow].frames[id(sub)]
    _same(workflow)
    assert incremental_dump._MEMOS[workflow].frames[id(sub)] is kept  # the second dump took it whole
    return sub


def _leaf(sub: Any) -> Task:
    return next(t for t in sub.tasks.values() if t._parent is not None and not t._children)


SETTLED_CHANGES = {
    "state": lambda sub: setattr(_leaf(sub), "_state", TaskState.CANCELLED),
    "stamp": lambda sub: setattr(_leaf(sub), "last_state_change", _leaf(sub).last_state_change + 1),
    "triggered": lambda sub: setattr(_leaf(sub), "triggered", not _leaf(sub).triggered),
    "spec": lambda sub: setattr(_leaf(sub), "task_spec", sub.task_tree.task_spec),
    "data replaced by a copy": lambda sub: setattr(_leaf(sub), "data", {**_leaf(sub).data, "late": 1}),
    "internal value in place": lambda sub: next(
        t.internal_data.update(dict.fromkeys(t.internal_data, "x")) for t in sub.tasks.values() if t.internal_data),
    "internal key added": lambda sub: _leaf(sub).internal_data.__setitem__("engine_note", 1),
    "internal key renamed": lambda sub: next(t.internal_data.__setitem__("renamed", t.internal_data.pop(
        next(iter(t.internal_data)))) for t in sub.tasks.values() if t.internal_data),
    "internal data replaced": lambda sub: setattr(sub.task_tree, "internal_data", {"engine_note": 1}),
    "child id removed": lambda sub: sub.tasks[_leaf(sub)._parent]._children.remove(_leaf(sub).id),
    "task removed": lambda sub: sub._remove_task(_leaf(sub).id),
    "task dropped from the dict only": lambda sub: sub.tasks.pop(_leaf(sub).id),
    "task added to the dict only": lambda sub: Task(sub, sub.task_tree.task_spec, state=TaskState.COMPLETED),
    "tasks reordered": lambda sub: setattr(sub, "tasks", dict(reversed(sub.tasks.items()))),
    "task added": lambda sub: _leaf(sub)._add_child(sub.task_tree.task_spec, TaskState.FUTURE),
}


@pytest.mark.parametrize("change", SETTLED_CHANGES, ids=str)
def test_a_completed_subprocess_is_kept_whole_until_one_of_its_tasks_changes(change: str) -> None:
    workflow = _mid_run(steps=4)
    sub = _settled_subprocess(workflow)
    SETTLED_CHANGES[change](sub)
    _same(workflow)
    _same(workflow)


def test_a_workflow_dropped_after_its_dumps_is_freed() -> None:
    """The memo holds the workflow's tasks: kept in a table keyed weakly on the workflow, it kept the workflow
    alive for ever (a server's evicted or reloaded workflows piled up)."""
    workflow = _mid_run()
    _same(workflow)
    assert incremental_dump._MEMOS.get(workflow) is not None
    alive = weakref.ref(workflow)
    del workflow
    gc.collect()
    assert alive() is None


def test_a_copy_starts_afresh() -> None:
    workflow = _mid_run()
    twin = copy.deepcopy(workflow)
    assert incremental_dump._MEMOS.get(twin) is None
    assert _same(twin) == _same(workflow)


def _open_subprocess(workflow: BpmnWorkflow) -> Any:
    """An open review subprocess (its user task ready, its timer waiting) whose tasks' text and dict's text the
    last dump kept whole (incremental_dump._Frame): the command did not touch it."""
    _same(workflow)  # its open tasks' fragments kept (their parents' were reused)
    _same(workflow)  # every fragment reused: the frames are kept
    _same(workflow)  # the frames held: the text around the tasks' is built from theirs once
    sub = next(sub for sub in workflow.subprocesses.values()
               if any(t.state == TaskState.READY and t.task_spec.manual for t in sub.tasks.values())
               and any(t.state == TaskState.WAITING and t.internal_data for t in sub.tasks.values()))
    memo = incremental_dump._MEMOS[workflow]
    kept, body = memo.frames[id(sub)], memo.bodies[id(sub)][2]
    _same(workflow)
    memo = incremental_dump._MEMOS[workflow]
    assert memo.frames[id(sub)] is kept and memo.bodies[id(sub)][2] is body  # taken whole
    return sub


def _in(sub: Any, state: int) -> Task:
    return next(t for t in sub.tasks.values() if t.state == state and (state != TaskState.READY or t.task_spec.manual))


OPEN_CHANGES = {
    **SETTLED_CHANGES,
    "open task's data in place": lambda sub: _in(sub, TaskState.READY).data.__setitem__("opinion", "改"),
    "open task's data value replaced": lambda sub: _in(sub, TaskState.READY).data.__setitem__(
        next(iter(_in(sub, TaskState.READY).data)), "改"),
    "waiting timer's internal data in place": lambda sub: _in(sub, TaskState.WAITING).internal_data.__setitem__(
        "event_value", "2030-01-01T00:00:00+00:00"),
    "predicted task's data in place": lambda sub: next(
        t for t in sub.tasks.values() if t.state & TaskState.PREDICTED_MASK).data.__setitem__("early", 1),
    "ready task completed": lambda sub: _in(sub, TaskState.READY).complete(),
    "last task": lambda sub: setattr(sub, "last_task", _in(sub, TaskState.READY)),
    "success": lambda sub: setattr(sub, "success", False),
    "completed": lambda sub: setattr(sub, "completed", True),
    "correlations in place": lambda sub: sub.correlations.__setitem__("permit", {"id": "P1"}),
    "workflow data in place": lambda sub: sub.data.__setitem__("late", ["甲"]),
    "parent task id": lambda sub: setattr(sub, "parent_task_id", sub.task_tree.id),
}


@pytest.mark.parametrize("change", OPEN_CHANGES, ids=str)
def test_an_open_subprocess_is_kept_whole_until_it_changes(change: str) -> None:
    workflow = _mid_run(steps=4)
    sub = _open_subprocess(workflow)
    before = _same(workflow)
    OPEN_CHANGES[change](sub)
    assert _same(workflow) != before
    _same(workflow)
    _same(workflow)


def test_a_container_in_an_open_tasks_data_changed_in_place_inside_a_kept_subprocess() -> None:
    workflow = _mid_run(steps=4)
    sub = next(sub for sub in workflow.subprocesses.values()
               if any(t.state == TaskState.READY and t.task_spec.manual for t in sub.tasks.values()))
    task = _in(sub, TaskState.READY)
    task.data["form"] = {"items": ["甲"]}
    _open_subprocess(workflow)
    before = _same(workflow)
    task.data["form"]["items"].append("乙")
    assert _same(workflow) != before
    _same(workflow)


def test_the_main_workflows_fields_around_its_tasks() -> None:
    workflow = _mid_run(steps=4)
    _same(workflow)
    _same(workflow)
    _same(workflow)
    body = incremental_dump._MEMOS[workflow].bodies[id(workflow)][2]
    _same(workflow)
    assert incremental_dump._MEMOS[workflow].bodies[id(workflow)][2] is body
    for change in (lambda: setattr(workflow, "last_task", workflow.task_tree),
                   lambda: setattr(workflow, "success", False),
                   lambda: workflow.correlations.__setitem__("permit", {"id": "P1"}),
                   lambda: workflow.correlations.__setitem__("permit", {"id": "P2"}),
                   lambda: workflow.correlations.clear(),
                   lambda: workflow.bpmn_events.append(workflow.bpmn_events.__class__())):
        before = _same(workflow)
        change()
        assert _same(workflow) != before
        _same(workflow)


def test_a_task_without_data_whose_fields_the_template_does_not_assume() -> None:
    """Tasks without data are written from a template (incremental_dump._bare_fragment); other field types go
    through the dict and the encoder."""
    workflow = _mid_run()
    predicted = [t for t in _all_tasks(workflow) if not t.data and not t.internal_data and t.children]
    assert predicted
    task = predicted[0]
    for field, value in (("last_state_change", 1700000000), ("last_state_change", float("nan")),
                         ("triggered", 0), ("_children", [*task._children[:1], str(task._children[0])])):
        setattr(task, field, value)
        assert incremental_dump._bare_fragment(task, task.parent, "Task") is None
        if field != "_children":
            _same(workflow)
    twin = copy.deepcopy(workflow)  # a root without data: no parent, data and delta empty
    twin.task_tree.data = {}
    assert twin.task_tree._parent is None and not twin.task_tree.internal_data
    assert incremental_dump._bare_fragment(twin.task_tree, None, "Task") is not None
    _same(twin)


@pytest.mark.parametrize("which", ["main", "subprocess"])
def test_a_data_value_of_a_kept_workflow_replaced_then_changed_in_place(which: str) -> None:
    """The workflow's tasks are kept whole (its sources are the same list of roots), its data's values are not the
    same objects: the new value is walked, so a change inside it is seen next time."""
    workflow = _mid_run(steps=4)
    sub = _open_subprocess(workflow)
    wf = workflow if which == "main" else sub
    wf.data["materials"] = ["M1"]
    _same(workflow)
    _same(workflow)
    _same(workflow)
    memo = incremental_dump._MEMOS[workflow]
    assert memo.frames.get(id(wf)) is not None
    group = memo.groups[id(wf)]  # type: ignore[index]
    _same(workflow)
    assert incremental_dump._MEMOS[workflow].groups[id(wf)] is group  # type: ignore[index]  # taken whole
    wf.data["materials"] = ["M2"]
    _same(workflow)
    wf.data["materials"].append("M3")
    _same(workflow)
    _same(workflow)


def test_a_new_source_in_a_workflow_whose_data_is_the_same() -> None:
    """A task of a kept subprocess finishes: its data becomes a root of the subprocess's group (its data's values are
    the same objects), so a change inside a container it holds is seen."""
    workflow = _mid_run(steps=4)
    sub = _open_subprocess(workflow)
    task = _in(sub, TaskState.READY)
    shared: list[Any] = ["甲"]
    task.data["form"] = {"items": shared}
    _same(workflow)
    _same(workflow)
    task.complete()
    assert any(not child.state & TaskState.FINISHED_MASK for child in task.children)  # a source now
    _same(workflow)
    before = _fallbacks()
    shared.append("乙")
    _same(workflow)
    assert _fallbacks() == before + 1
    _same(workflow)


def _noted(workflow: BpmnWorkflow) -> list[list[str]]:
    """Per (sub)workflow, the data of the sources the last dump noted (the roots of its group), as text."""
    groups = incremental_dump._MEMOS[workflow].groups
    assert groups is not None
    return [sorted(json.dumps(data, sort_keys=True, default=repr) for data in group.noted) for group in groups.values()]


def _noted_afresh(workflow: BpmnWorkflow) -> list[list[str]]:
    """`_noted` of a dump that reuses nothing (of a copy: a copy starts afresh)."""
    twin = copy.deepcopy(workflow)
    _same(twin)
    return _noted(twin)


@pytest.mark.parametrize("seed", range(3))
def test_a_wide_fan_out_completed_in_any_order(seed: int) -> None:
    """Each command completes one branch (the join cancels and drops tasks in the middle of the task dict): the text
    is the full dump's, and the sources the dump notes are those a dump reusing nothing notes."""
    rng = random.Random(seed)
    workflow = runtime.new_workflow(load_process(_fan_out(30), file="wide.bpmn"), {}, T0)
    result = runtime.advance(workflow, T0)
    _same(workflow)
    before, commands = _fallbacks(), 0
    while result.human_tasks:
        task = rng.choice(result.human_tasks)
        result = runtime.complete_user_task(workflow, task.spiff_task_id, {task.bpmn_id: "同意"}, T0)
        _same(workflow)
        assert _noted(workflow) == _noted_afresh(workflow)
        commands += 1
    assert workflow.is_completed() and commands == 30 and _fallbacks() == before
