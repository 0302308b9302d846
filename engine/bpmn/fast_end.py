"""The end join's check without a walk of the whole tree (SpiffWorkflow 3.2 `_EndJoin`, where end events lead).

Why: `_EndJoin._check_threshold_unstructured` asks whether any unfinished task other than itself is left, with
the stock `TaskIterator` over the whole tree (`list.pop(0)`, the `children` property, a walk up the parents at
every leaf). It runs when an end event is reached, so it was most of what the last command of a long instance
cost beyond the others (a 200-task sequence: ~1.7 ms under cProfile, the whole chain walked).

`check_threshold_unstructured` decides it from the unfinished tasks up (`fast_scan.yields_unfinished`, as
`is_completed` does), or where that cannot tell walks the same tree in the same order with `fast_scan.iter_state`
(same states, depth limit and `end_at_spec` cut-off) to the first such task. tests/unit/bpmn/test_fast_end.py
compares it with stock at every end join of the corpus. `install()`/`uninstall()` as in fast_scan.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import fast_scan

_STOCK = _EndJoin._check_threshold_unstructured


def check_threshold_unstructured(self: _EndJoin, my_task: Task) -> bool:
    # Stock: `TaskIterator(task_tree, state=NOT_FINISHED_MASK, end_at_spec=self.name)`, whose filter also asks
    # `last_state_change >= 0`; the first task it yields other than `my_task` means "not yet".
    unfinished = fast_scan.yields_unfinished(my_task.workflow, skip=my_task, end_at_spec=self.name)
    if unfinished is None:
        unfinished = any(task is not my_task and task.last_state_change >= 0 for task in fast_scan.iter_state(
            my_task.workflow.task_tree, TaskState.NOT_FINISHED_MASK, end_at_spec=self.name))
    return not unfinished


def stock_check(end_join: _EndJoin, my_task: Task) -> bool:
    return _STOCK(end_join, my_task)


def install() -> None:
    _EndJoin._check_threshold_unstructured = check_threshold_unstructured  # type: ignore[method-assign]


def uninstall() -> None:
    _EndJoin._check_threshold_unstructured = _STOCK  # type: ignore[method-assign]
