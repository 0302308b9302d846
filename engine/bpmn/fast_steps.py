"""SpiffWorkflow 3.2's engine step asking only for the tasks it runs: READY tasks that are not manual.

Why: `BpmnWorkflow._do_engine_steps` asks every active subprocess, then the whole workflow, for its READY tasks
and skips the manual ones (user tasks) in its loop. Open user tasks stay READY until a clerk completes them, so
after a command the answer is mostly user tasks (approval_9: nine reviews), and our `get_tasks` (fast_scan.find)
walks each match up to the root to order them; the loop then runs none of them. Asking for
`state=READY, manual=False` gives the tasks the loop would run, in the same order (a filter of the same
depth-first list), so usually no match at all (py-spy: `find` was ~6% of approval_9's persisted CPU).

Equivalence: `BpmnTaskFilter` keeps a task when `task.task_spec.manual == False`, the loop when
`not task.task_spec.manual`; Spiff's task specs set `manual` to a bool. The list is taken before the loop runs
anything in both versions, so a task whose state a run changes is handled as stock does. The rest of the method
is stock's. tests/unit/bpmn/test_fast_steps.py drives the corpus against stock, comparing every step's state.
`install()`/`uninstall()` as in fast_scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_STOCK_DO_ENGINE_STEPS = BpmnWorkflow._do_engine_steps
Callback = Callable[[Task], Any] | None


def _do_engine_steps(self: BpmnWorkflow, will_complete_task: Callback = None,
                     did_complete_task: Callback = None) -> bool:
    def update_workflow(wf: BpmnBaseWorkflow) -> int:
        count = 0
        for task in wf.get_tasks(state=TaskState.READY, manual=False):
            if will_complete_task is not None:
                will_complete_task(task)
            task.run()
            count += 1
            if did_complete_task is not None:
                did_complete_task(task)
        return count

    active_subprocesses = self.get_active_subprocesses()
    for subprocess in sorted(active_subprocesses, key=lambda v: v.depth, reverse=True):
        count = None
        while count is None or count > 0:
            count = update_workflow(subprocess)
        if subprocess.parent_task_id is not None:
            task = self.get_task_from_id(subprocess.parent_task_id)
            task.task_spec._update(task)

    count = update_workflow(self)
    return count > 0 or len(self.get_active_subprocesses()) > len(active_subprocesses)


def install() -> None:
    BpmnWorkflow._do_engine_steps = _do_engine_steps  # type: ignore[method-assign]


def uninstall() -> None:
    BpmnWorkflow._do_engine_steps = _STOCK_DO_ENGINE_STEPS  # type: ignore[method-assign]


def installed() -> bool:
    return BpmnWorkflow.__dict__.get("_do_engine_steps") is _do_engine_steps
