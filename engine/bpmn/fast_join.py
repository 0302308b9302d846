"""The parallel join's check without its quadratic parent walks (SpiffWorkflow 3.2 `ParallelGateway`).

Why: a parallel gateway re-checks its inputs whenever a task completes (Spiff's `update_waiting_tasks`), and
`_check_threshold_unstructured` asks, for every task of the join's spec (a wide fan-out predicts one per
branch), `task.is_descendant_of(my_task)` and `my_task.is_descendant_of(task)`: recursive walks through the
`parent` property (a dict lookup and a pure-Python `UUID.__hash__` per step). With 36 branches that was 40% of
a completion. `check_threshold_unstructured` asks the same questions in the same order with the join task's
ancestors collected once (a set of object ids) and the other walks done in a loop on `_parent` ids; the
result is the same (tests/unit/bpmn/test_fast_join.py compares both at every step of the corpus).
`install()`/`uninstall()` as in fast_scan.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

_STOCK = ParallelGateway._check_threshold_unstructured


def _ancestor_ids(task: Task) -> set[int]:
    tasks, found, parent_id = task.workflow.tasks, set(), task._parent
    while parent_id is not None:
        parent = tasks.get(parent_id)
        if parent is None:
            break
        found.add(id(parent))
        parent_id = parent._parent
    return found


def _is_descendant(task: Task, ancestor: Task) -> bool:
    # Task.is_descendant_of: walk the parents (all in the task's own workflow) until the ancestor or the root.
    tasks, parent_id = task.workflow.tasks, task._parent
    while parent_id is not None:
        parent = tasks.get(parent_id)
        if parent is None:
            return False
        if parent is ancestor:
            return True
        parent_id = parent._parent
    return False


def check_threshold_unstructured(self: ParallelGateway, my_task: Task) -> bool:
    tasks = my_task.workflow.get_tasks(spec_name=self.name)
    waiting_inputs = set(self.inputs)
    my_ancestors = _ancestor_ids(my_task)

    def remove_ancestor(task: Task | None) -> None:
        # Trace a task's parents until one has a spec among the waiting inputs.
        while task is not None:
            if task.task_spec in waiting_inputs:
                waiting_inputs.remove(task.task_spec)
                return
            task = task.parent

    for task in tasks:
        if _is_descendant(task, my_task):
            # A loop's first iteration: this join task is not reached until after this join completes.
            remove_ancestor(task)
        elif id(task) in my_ancestors:
            continue  # a later iteration: ignore the parents of previous ones
        elif task.parent.state == TaskState.COMPLETED and task.parent.task_spec in waiting_inputs:
            waiting_inputs.remove(task.parent.task_spec)
    return len(waiting_inputs) == 0


def stock_check(gateway: ParallelGateway, my_task: Task) -> bool:
    return _STOCK(gateway, my_task)


def install() -> None:
    ParallelGateway._check_threshold_unstructured = check_threshold_unstructured  # type: ignore[method-assign]


def uninstall() -> None:
    ParallelGateway._check_threshold_unstructured = _STOCK  # type: ignore[method-assign]
