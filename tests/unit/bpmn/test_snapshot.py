"""`runtime.snapshot` walks the tree once for open user tasks and waiting timers: the same lists, in the same
order, as two walks of SpiffWorkflow's own iterator, at every step of every process of the corpus."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import runtime
from engine.bpmn.parsing import load_process
from engine.errors import EngineError
from tests.unit.bpmn.test_fast_scan import ANSWERS, CORPUS, T0


def _check(workflow: BpmnWorkflow) -> None:
    result = runtime.snapshot(workflow)
    ready = [str(t.id) for t in BpmnTaskIterator(workflow.task_tree, state=TaskState.READY, manual=True)]
    waiting = [str(t.id) for t in BpmnTaskIterator(workflow.task_tree, state=TaskState.WAITING)
               if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]
    assert [t.spiff_task_id for t in result.human_tasks] == ready
    assert [t.spiff_task_id for t in result.timers] == waiting  # one entry per waiting timer


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_one_walk_gives_the_two_lists_of_the_stock_iterator(path: Path) -> None:
    parsed = load_process(path.read_bytes(), file=path.name)
    now = T0
    workflow = runtime.new_workflow(parsed, {"project": "示范", "applicant_id": "A1", "limit": 5}, now)
    try:
        result = runtime.advance(workflow, now)
    except EngineError:
        return
    for _ in range(40):
        _check(workflow)
        try:
            if result.human_tasks:
                result = runtime.complete_user_task(workflow, result.human_tasks[0].spiff_task_id, dict(ANSWERS), now)
            elif workflow.get_tasks(state=TaskState.STARTED):
                started = workflow.get_tasks(state=TaskState.STARTED)[0]
                result = runtime.complete_external_task(workflow, str(started.id), {"ok": True}, now)
            elif result.timers and not result.done:
                now += timedelta(days=30)
                result = runtime.advance(workflow, now)
            else:
                break
        except EngineError:
            break
    _check(workflow)
