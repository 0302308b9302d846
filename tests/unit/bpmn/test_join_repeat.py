"""The repeated join update skipped (engine/bpmn/fast_join.py: update_hook, task_completed_notify) against stock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import fast_join, fast_scan, runtime
from engine.bpmn.canonical import canonical_state
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_join import _fan_out, _loop
from tests.unit.bpmn.test_fast_scan import CORPUS, T0, _drive
from tests.unit.bpmn.test_waiting_update import _inclusive, same_as_stock
from tests.unit.bpmn.test_waiting_update import _states as waiting_states


@contextmanager
def stock() -> Iterator[None]:
    """Spiff's own join update, completion notice, check and waiting-task walk."""
    fast_join.uninstall()
    fast_scan.uninstall()
    try:
        yield
    finally:
        fast_scan.install()
        fast_join.install()


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The spec name of every parallel gateway check (the fork's too), in order."""
    calls: list[str] = []
    check = fast_join.check_threshold_unstructured

    def counted(gateway: Any, my_task: Any) -> bool:
        calls.append(my_task.task_spec.name)
        return check(gateway, my_task)

    monkeypatch.setattr(ParallelGateway, "_check_threshold_unstructured", counted)
    monkeypatch.setattr(fast_join, "_PARALLEL_CHECKS", (counted, fast_join._STOCK))
    return calls


def _not_left(workflow: Any) -> None:
    assert fast_scan.REPEATED not in workflow.__dict__  # only while the completion notice runs


def _states(parsed: Any, seed: int) -> list[Any]:
    """The canonical states of a run completing the open user tasks in random order (test_waiting_update)."""
    return waiting_states(parsed, seed, {"limit": 5, "skip": seed % 2 == 0}, on_step=_not_left)


CASES = [("wide_12", _fan_out(12)), ("wide_30", _fan_out(30)), ("loop", _loop()), ("inclusive", _inclusive())]


@pytest.mark.parametrize(("name", "xml"), CASES, ids=[name for name, _ in CASES])
def test_same_states_as_stock_completing_in_any_order(name: str, xml: bytes) -> None:
    same_as_stock(load_process(xml, file=f"{name}.bpmn"), range(4), _states, stock)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_states_as_stock_at_every_step_of_the_corpus(path: Any) -> None:
    parsed = load_process(path.read_bytes(), file=path.name)

    def run() -> list[Any]:
        states: list[Any] = []
        _drive(parsed, check=False, on_step=lambda workflow, _result: states.append(canonical_state(workflow)))
        return states

    patched = run()
    with stock():
        unpatched = run()
    assert patched == unpatched


def test_one_check_per_completion_in_a_fan_out(checks: list[str]) -> None:
    """Stock checks the join twice per branch completed (the branch's join task, then the waiting-task update);
    every completion but the last leaves the join waiting, and its second check is skipped."""
    parsed = load_process(_fan_out(12), file="wide.bpmn")
    for seed in range(3):
        checks.clear()
        states = _states(parsed, seed)
        assert states[-1]["completed"]
        assert checks.count("join") == 12


def test_the_second_check_runs_without_the_notice(checks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The count above is the skip's doing: with Spiff's completion notice, every completion but the last checks
    twice (the last one fires the join)."""
    from SpiffWorkflow.workflow import Workflow

    monkeypatch.setattr(Workflow, "_task_completed_notify", fast_join._STOCK_NOTIFY)
    assert _states(load_process(_fan_out(12), file="wide.bpmn"), 0)[-1]["completed"]
    assert checks.count("join") == 23


def _fork_with_waiting_join(branches: int = 3) -> tuple[Any, Any]:
    workflow = runtime.new_workflow(load_process(_fan_out(branches), file="wide.bpmn"), {}, T0)
    result = runtime.advance(workflow, T0)
    runtime.complete_user_task(workflow, result.human_tasks[0].spiff_task_id, {"ok": True}, T0)
    waiting = next(t for t in workflow.tasks.values() if t.state == TaskState.WAITING)
    return workflow, waiting


def test_cancelled_tasks_on_the_path_or_with_finished_descendants_stop_the_skip() -> None:
    workflow, waiting = _fork_with_waiting_join()
    other = next(t for t in workflow.tasks.values() if t.task_spec.name == "join" and t.state == TaskState.FUTURE)
    assert fast_join._off_the_path([waiting], other)  # the fan-out's case: unfinished descendants only
    assert not fast_join._off_the_path([waiting.parent], waiting)  # above the join task
    assert not fast_join._off_the_path([waiting], waiting.children[0])  # below it
    below = waiting.children[0]
    saved = below._state
    below._state = TaskState.COMPLETED  # a finished task that the cancel would keep
    assert not fast_join._off_the_path([waiting], other)
    below._state = saved


def test_the_note_needs_the_completed_task_s_only_child() -> None:
    """A join task noted on its workflow is not handed on by a completion it is not the only child of."""
    workflow, waiting = _fork_with_waiting_join()
    branch = next(t for t in workflow.tasks.values() if t.task_spec.name.startswith("t_") and t.state == TaskState.READY)
    seen = []
    update = fast_scan._update_waiting_tasks

    def spy(wf: Any) -> None:  # what the update is told (the update itself would note the join task again)
        seen.append(wf.__dict__.get(fast_scan.REPEATED))

    workflow.__dict__[fast_join._WAITED] = waiting
    fast_scan.Workflow.update_waiting_tasks = spy  # type: ignore[method-assign]
    try:
        fast_join.task_completed_notify(workflow, branch)  # not the waiting join task's parent
        fast_join.task_completed_notify(workflow, waiting.parent)  # noted no more: the first notice took it
        workflow.__dict__[fast_join._WAITED] = waiting
        fast_join.task_completed_notify(workflow, waiting.parent)
    finally:
        fast_scan.Workflow.update_waiting_tasks = update  # type: ignore[method-assign]
    assert seen == [None, None, waiting]
    assert fast_scan.REPEATED not in workflow.__dict__


def test_no_note_when_a_cancelled_task_was_on_the_path(checks: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Every completion after the first cancels the join task the previous one left waiting: with that cancel
    judged on the path, the join is checked twice again (the first completion cancels nothing and is skipped)."""
    monkeypatch.setattr(fast_join, "_off_the_path", lambda cancelled, my_task: False)
    assert _states(load_process(_fan_out(12), file="wide.bpmn"), 0)[-1]["completed"]
    assert checks.count("join") == 23 - 1
