"""The engine step that asks only for non-manual READY tasks (engine/bpmn/fast_steps.py) against stock, on the
corpus: the same tasks run in the same order and the same state after every step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import fast_steps, runtime
from engine.bpmn.canonical import canonical_state
from engine.bpmn.parsing import ParsedProcess, load_process
from tests.unit.bpmn.test_fast_scan import CORPUS, ROOT, T0, _drive


@contextmanager
def stock() -> Iterator[None]:
    fast_steps.uninstall()
    try:
        yield
    finally:
        fast_steps.install()


def _trace(parsed: ParsedProcess) -> list[tuple[list[str], Any]]:
    """Each step's elements run (in order) and the canonical state after it, then the end state (test_fast_scan's
    driver)."""
    trace: list[tuple[list[str], Any]] = []
    workflow = _drive(parsed, check=False, on_step=lambda workflow, result: trace.append(
        (result.completed_elements, canonical_state(workflow))))
    return [*trace, ([], canonical_state(workflow))]


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_tasks_run_in_the_same_order_with_the_same_state_as_stock(path: Path) -> None:
    assert fast_steps.installed()
    parsed = load_process(path.read_bytes(), file=path.name)
    patched = _trace(parsed)
    with stock():
        assert not fast_steps.installed()
        unpatched = _trace(parsed)
    assert patched == unpatched
    assert any(completed for completed, _state in patched)  # the driver did run something


def test_open_user_tasks_are_not_asked_for() -> None:
    """The point of the patch: with nine reviews open, a step's READY query answers none of them."""
    path = ROOT / "bench/approval_9.bpmn"
    parsed = load_process(path.read_bytes(), file=path.name)
    workflow = runtime.new_workflow(parsed, {}, T0)
    result = runtime.advance(workflow, T0)
    started = workflow.get_tasks(state=TaskState.STARTED)[0]
    result = runtime.complete_external_task(workflow, str(started.id), {"ok": True}, T0)
    assert len(result.human_tasks) == 9
    answers: list[list[Any]] = []
    original = type(workflow).get_tasks

    def spy(self: Any, *args: Any, **kwargs: Any) -> list[Any]:
        found = original(self, *args, **kwargs)
        if kwargs.get("state") == TaskState.READY:
            answers.append(found)
        return found


    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(workflow), "get_tasks", spy)
        runtime._run(T0, workflow.do_engine_steps)
    assert answers and all(found == [] for found in answers)
