"""The parallel join's check without its tree walks (SpiffWorkflow 3.2 `ParallelGateway`).

Why: a parallel gateway re-checks its inputs whenever a task completes (twice per completion in a fan-out: the
branch's join task, then Spiff's `update_waiting_tasks`), and `_check_threshold_unstructured` asks, for every task
of the join's spec (a wide fan-out predicts one per branch), `task.is_descendant_of(my_task)` and
`my_task.is_descendant_of(task)`: recursive walks through the `parent` property (a dict lookup and a pure-Python
`UUID.__hash__` per step), after `get_tasks(spec_name=...)` walked the whole tree for them. With 36 branches
that made each completion's cost grow with the number of branches (the fan-out's 36/9 ratio).

`check_threshold_unstructured` takes the join's tasks from `fast_scan.reached` (the scan's tasks, unordered, each
with its parent and whether it is below `my_task`, from the task dicts up). When none is below `my_task`, stock's
loop only removes each other task's parent spec (unless the task is an ancestor of `my_task`), which no order
changes, so the answer is the set left. Otherwise (a loop's first iteration below a later one, whose ancestors
stock traces in the scan's order) and on a tree too large for `reached`, `ordered_check` runs stock's loop on
`get_tasks`, with the join task's ancestors collected once and the walks up shared between tasks. The answers are
stock's (tests/unit/bpmn/test_fast_join.py compares them for every join task at every step of the corpus, of fan-
outs completed in random orders and of a loop). `install()`/`uninstall()` as in fast_scan.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import fast_scan

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


def check_threshold_unstructured(self: ParallelGateway, my_task: Task) -> bool:
    found = fast_scan.reached(my_task.workflow, self.name, my_task)
    if found is None or any(below or parent is None for _task, parent, below in found):
        return ordered_check(self, my_task)
    # No task of the join's spec is below `my_task`, so the loop never traces a task's ancestors: every other task
    # removes at most its parent's spec, whatever the order, and the answer is the set left.
    waiting_inputs = set(self.inputs)
    my_ancestors = _ancestor_ids(my_task)
    completed = TaskState.COMPLETED
    for task, parent, _below in found:
        if id(task) not in my_ancestors and parent.state == completed:  # type: ignore[union-attr]
            waiting_inputs.discard(parent.task_spec)  # type: ignore[union-attr]
    return len(waiting_inputs) == 0


def ordered_check(self: ParallelGateway, my_task: Task) -> bool:
    """Stock's loop over `get_tasks(spec_name=...)` in the scan's order (a loop's first iteration below `my_task`
    traces ancestors, which depends on the order)."""
    tasks = my_task.workflow.get_tasks(spec_name=self.name)
    waiting_inputs = set(self.inputs)
    my_ancestors = _ancestor_ids(my_task)
    # Whether each task met is a descendant of `my_task` (`Task.is_descendant_of`: a walk up the `parent` property,
    # within the task's own workflow, until `my_task` or a task without parent), by object id: the walks of the
    # join's tasks share their upper part (a fan-out: every branch's walk meets the fork), so each task above them
    # is looked up once per check instead of once per branch.
    below: dict[int, bool] = {}

    def is_below(task: Task) -> bool:
        # The walk from `task` up, until a task whose answer is known (or the root), then the answers down.
        walked = []
        node: Task | None = task
        answer = below.get(id(task))
        while answer is None:
            walked.append(node)
            parent = node.workflow.tasks.get(node._parent)
            if parent is None:
                answer = False
            elif parent is my_task:
                answer = True
            else:
                node = parent
                answer = below.get(id(parent))
        for node in walked:
            below[id(node)] = answer
        return answer

    def remove_ancestor(task: Task | None) -> None:
        # Trace a task's parents until one has a spec among the waiting inputs.
        while task is not None:
            if task.task_spec in waiting_inputs:
                waiting_inputs.remove(task.task_spec)
                return
            task = task.parent

    for task in tasks:
        parent = task.workflow.tasks.get(task._parent)  # `task.parent`
        if parent is not None and (parent is my_task or is_below(parent)):
            # A loop's first iteration: this join task is not reached until after this join completes.
            remove_ancestor(task)
        elif id(task) in my_ancestors:
            continue  # a later iteration: ignore the parents of previous ones
        elif parent.state == TaskState.COMPLETED and parent.task_spec in waiting_inputs:  # type: ignore[union-attr]
            waiting_inputs.remove(parent.task_spec)  # type: ignore[union-attr]
    return len(waiting_inputs) == 0


def stock_check(gateway: ParallelGateway, my_task: Task) -> bool:
    return _STOCK(gateway, my_task)


def install() -> None:
    ParallelGateway._check_threshold_unstructured = check_threshold_unstructured  # type: ignore[method-assign]


def uninstall() -> None:
    ParallelGateway._check_threshold_unstructured = _STOCK  # type: ignore[method-assign]
