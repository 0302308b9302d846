"""`runtime.snapshot` walks the tree once for open user tasks and waiting timers: the same lists, in the same
order, as two walks of SpiffWorkflow's own iterator, at every step of every process of the corpus."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

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
    fresh = [runtime.ReadyTask(str(t.id), t.task_spec.bpmn_id, t.task_spec.bpmn_name)
             for t in BpmnTaskIterator(workflow.task_tree, state=TaskState.READY, manual=True)]
    assert result.human_tasks == fresh  # the kept ones too
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


def test_kept_ready_tasks_are_made_again_when_their_task_changed() -> None:
    """A snapshot reuses the last one's `ReadyTask` only for the same task object, id object and spec values."""
    from tests.unit.bpmn.test_fast_join import _fan_out

    workflow = runtime.new_workflow(load_process(_fan_out(6), file="wide.bpmn"), {}, T0)
    first = runtime.advance(workflow, T0).human_tasks
    assert len(first) > 4
    again = runtime.snapshot(workflow).human_tasks
    assert all(a is b for a, b in zip(first, again, strict=True))  # reused
    tasks = [workflow.get_task_from_id(UUID(t.spiff_task_id)) for t in first[:4]]
    tasks[0].task_spec.bpmn_name = "renamed"  # the same spec object, another name
    tasks[3].task_spec = copy.copy(tasks[3].task_spec)  # another spec object, the same values
    old_id = tasks[1].id
    workflow.tasks[uuid4()] = workflow.tasks.pop(old_id)
    tasks[1].id = next(k for k, v in workflow.tasks.items() if v is tasks[1])
    parent = workflow.get_task_from_id(tasks[1]._parent)
    parent._children[parent._children.index(old_id)] = tasks[1].id
    tasks[2].id = UUID(str(tasks[2].id))  # an equal id, another object: reused only if made from the same object
    third = runtime.snapshot(workflow).human_tasks
    by_id = {t.spiff_task_id: t for t in third}
    assert by_id[str(tasks[0].id)].name == "renamed"
    assert str(old_id) not in by_id and by_id[str(tasks[1].id)] == runtime.ReadyTask(
        str(tasks[1].id), tasks[1].task_spec.bpmn_id, tasks[1].task_spec.bpmn_name)
    assert by_id[str(tasks[2].id)] is not first[2] and by_id[str(tasks[2].id)] == first[2]
    assert by_id[str(tasks[3].id)] is not first[3] and by_id[str(tasks[3].id)] == first[3]
    assert sum(1 for t in third if any(t is f for f in first)) == len(first) - 4
