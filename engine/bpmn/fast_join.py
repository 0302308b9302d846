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
`get_tasks`, with the join task's ancestors collected once and the walks up shared between tasks. Before either,
`_surely_waiting` answers "not yet" when an input has no COMPLETED task at all and no join task hangs below
`my_task` (every completion of a fan-out's branch but the last): one pass over the tasks instead of a walk up from
each branch's join task (fan-out 36: 6% fewer instructions per instance, valgrind). The answers are
stock's (tests/unit/bpmn/test_fast_join.py compares them for every join task at every step of the corpus, of fan-
outs completed in random orders and of a loop). `install()`/`uninstall()` as in fast_scan.

The repeated update. When a branch's last task completes, `TaskSpec._on_complete` updates its children (the join
task: checked, left WAITING) and at once calls `Workflow._task_completed_notify`, whose `update_waiting_tasks`
updates every WAITING task again: the join task, a second check of the whole join. That second update changes
nothing when the first left the join task WAITING (a parallel join's check): it answers "not yet" again, finds no
other WAITING task of the spec (the first cancelled them all) and sets WAITING again (a no-op). The second check
sees the first one's tree but for the join task's own state (FUTURE or predicted, now WAITING: a parallel join's
check reads the states of its tasks' parents and the reachability of its tasks, neither of which that changes) and
the tasks the first update cancelled (in a fan-out, the join task the previous branch left WAITING): such a task
stays, under the same parent, and loses its unfinished descendants. Those told the check nothing if none of them
was finished (their parents were that WAITING task or unfinished ones, never COMPLETED) and the cancelled task was
neither above nor below the join task (so none of them was either: the first update cancelled nothing on the
join task's own path). `update_hook` notes a join task left WAITING when every task it cancelled was such;
`task_completed_notify` hands it to `update_waiting_tasks` (fast_scan.REPEATED) when the completed task's only
child is that task, i.e. its update was the last thing `_on_complete` did; fast_scan skips it when it is the only
WAITING task. tests/unit/bpmn/test_join_repeat.py compares the states with stock's.
"""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from engine.bpmn import fast_scan

_STOCK = ParallelGateway._check_threshold_unstructured
_STOCK_UPDATE_HOOK = UnstructuredJoin._update_hook
_STOCK_NOTIFY = Workflow._task_completed_notify
_FINISHED = TaskState.FINISHED_MASK
_WAITED = "_engine_join_waited"  # on a workflow: the join task its last join update left as described above


def _ancestor_ids(task: Task) -> set[int]:
    tasks, found, parent_id = task.workflow.tasks, set(), task._parent
    while parent_id is not None:
        parent = tasks.get(parent_id)
        if parent is None:
            break
        found.add(id(parent))
        parent_id = parent._parent
    return found


_BELOW_LIMIT = 64  # tasks below a join task looked at before `_surely_waiting` gives up


def _surely_waiting(self: ParallelGateway, my_task: Task) -> bool:
    """Whether stock's check surely answers False: an input has no COMPLETED task anywhere the check's scan looks,
    and no task of the join's spec is below `my_task`.

    Stock takes an input only for a join task whose parent is COMPLETED with the input's spec, or, for a join task
    below `my_task` (a loop's first iteration), for any ancestor of that task. Below is by the walk up the `parent`
    property; a task is listed by its parent's children (Spiff adds a child to both at once and removes it from
    both), so the tasks below `my_task` are those reached down its children, which are few (the join's predicted
    tail). In a fan-out every branch's completion but the last finds its own input missing here, in one pass over
    the tasks, instead of walking up from every branch's join task."""
    completed = TaskState.COMPLETED
    specs: set[Any] = set()
    for wf in fast_scan.searched(my_task.workflow):
        specs.update([task.task_spec for task in wf.tasks.values() if task._state == completed])
    if specs.issuperset(self.inputs):
        return False
    tasks, name = my_task.workflow.tasks, self.name
    below = list(my_task._children)
    met = 0
    while below:
        task = tasks.get(below.pop())
        if task is None:  # a subprocess's root (its tree is not below by the `parent` walk)
            continue
        met += 1
        if task.task_spec.name == name or met > _BELOW_LIMIT:
            return False
        below.extend(task._children)
    return True


def check_threshold_unstructured(self: ParallelGateway, my_task: Task) -> bool:
    if _surely_waiting(self, my_task):
        return False
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


_PARALLEL_CHECKS = (check_threshold_unstructured, _STOCK)  # checks that do not read the join task's own state


def update_hook(self: UnstructuredJoin, my_task: Task) -> bool:
    """UnstructuredJoin._update_hook (the other tasks of the spec picked out in one comprehension, by identity:
    stock's `==` on specs and tasks is identity, neither class defines it), noting a join task left WAITING with
    nothing cancelled on its path."""
    may_fire = self._check_threshold_unstructured(my_task)
    other_tasks = [t for t in my_task.workflow.tasks.values()
                   if t.task_spec is self and t is not my_task and t._state == TaskState.WAITING]
    repeats = not may_fire and type(self)._check_threshold_unstructured in _PARALLEL_CHECKS and (
        not other_tasks or _off_the_path(other_tasks, my_task))
    for task in other_tasks:
        task.cancel()
    if not may_fire:
        my_task._set_state(TaskState.WAITING)
    else:
        my_task._inherit_data()
    if repeats:
        my_task.workflow.__dict__[_WAITED] = my_task
    else:
        my_task.workflow.__dict__.pop(_WAITED, None)
    return may_fire


def _off_the_path(cancelled: list[Task], my_task: Task) -> bool:
    """Each task neither above nor below `my_task` (within its workflow, as the check's walks), and nothing finished
    below it (what `Task.cancel` drops is then its unfinished descendants only)."""
    tasks, above = my_task.workflow.tasks, _ancestor_ids(my_task)
    for task in cancelled:
        if id(task) in above:
            return False
        parent_id = task._parent
        while parent_id is not None:
            parent = tasks.get(parent_id)
            if parent is None:
                break
            if parent is my_task:
                return False
            parent_id = parent._parent
        below = list(task._children)
        while below:
            child = tasks.get(below.pop())
            if child is None or child._state & _FINISHED:
                return False
            below.extend(child._children)
    return True


def task_completed_notify(self: Workflow, task: Task) -> None:
    """Workflow._task_completed_notify, telling `update_waiting_tasks` which join task was just updated on this
    tree. `TaskSpec._on_complete` (no spec overrides it) is its only caller, right after updating each unfinished
    child of `task`: if `task`'s only child is the noted join task, still WAITING, its update was the last one."""
    waited = self.__dict__.pop(_WAITED, None)
    if (waited is None or waited._state != TaskState.WAITING or len(task._children) != 1
            or task._children[0] != waited.id or self.tasks.get(waited.id) is not waited):
        _STOCK_NOTIFY(self, task)
        return
    self.__dict__[fast_scan.REPEATED] = waited
    try:
        _STOCK_NOTIFY(self, task)
    finally:
        self.__dict__.pop(fast_scan.REPEATED, None)


def install() -> None:
    ParallelGateway._check_threshold_unstructured = check_threshold_unstructured  # type: ignore[method-assign]
    UnstructuredJoin._update_hook = update_hook  # type: ignore[method-assign]
    Workflow._task_completed_notify = task_completed_notify  # type: ignore[method-assign]
    fast_scan.JOIN_UPDATES.add(update_hook)


def uninstall() -> None:
    ParallelGateway._check_threshold_unstructured = _STOCK  # type: ignore[method-assign]
    UnstructuredJoin._update_hook = _STOCK_UPDATE_HOOK  # type: ignore[method-assign]
    Workflow._task_completed_notify = _STOCK_NOTIFY  # type: ignore[method-assign]
    fast_scan.JOIN_UPDATES.discard(update_hook)
