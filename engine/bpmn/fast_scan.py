"""A faster `get_tasks` for SpiffWorkflow 3.2 BPMN workflows: same tasks, same order, less interpreter work.

Why: about 2/3 of SpiffWorkflow's CPU goes to full task-tree scans (DESIGN.md §5). `BpmnTaskIterator` pays,
for every task it visits, `list.pop(0)`, the `children`/`parent` properties (one dict lookup and one
pure-Python `UUID.__hash__` per id), a walk up the parents to keep its depth counter, and a generic filter
call. `scan` visits the same tree in the same depth-first order (a subprocess's tree right before the children of
the task that runs it) with one stack, one lookup per child, and the common filter (a state mask) inlined.

Equivalence (tests/unit/bpmn/test_fast_scan.py compares both on every process of the corpus at every step):
- the tasks descended into are those `BpmnTaskIterator._next` descends into: children only if the task's state
  is >= the filter's minimum state (MAYBE for predicted masks, FUTURE for definite ones, else COMPLETED), a
  subprocess's tree unless `skip_subprocesses` or the subprocess task is finished and only finished tasks are
  asked for;
- the iterator's depth limit (max_depth=1000, never passed by Spiff or us) cannot bind while the tree is
  shallower than `DEPTH_GUARD`; past it the stock iterator does the work;
- arguments this module does not handle (`end_at_spec`, `max_depth`, `depth_first=False`, `task_filter`) go to
  the stock iterator unchanged.

`install()` patches `BpmnBaseWorkflow.get_tasks` (which `BpmnWorkflow.do_engine_steps`, the parallel
gateway's join check and our runtime call) and `Workflow.update_waiting_tasks` (after every task completion:
a lazy state-only walk, `iter_state`); `uninstall()` restores both (tests compare against stock).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

DEPTH_GUARD = 500
_STOCK_GET_TASKS = BpmnBaseWorkflow.__dict__.get("get_tasks", Workflow.get_tasks)
_STOCK_UPDATE_WAITING = Workflow.update_waiting_tasks
_FILTER_KEYS = frozenset({"state", "manual", "spec_name", "spec_class", "updated_ts", "catches_event", "lane"})
_FINISHED = TaskState.FINISHED_MASK


class _TooDeep(Exception):
    pass


def _min_state(state: int) -> int:
    # TaskIterator.__init__: which tasks' children can hold a match.
    if state & TaskState.PREDICTED_MASK:
        return TaskState.MAYBE
    if state & TaskState.DEFINITE_MASK:
        return TaskState.FUTURE
    return TaskState.COMPLETED


def scan(workflow: BpmnBaseWorkflow, first_task: Task | None = None, *, skip_subprocesses: bool = False,
         **filters: Any) -> list[Task]:
    """The tasks `BpmnTaskIterator(first_task or workflow.task_tree, **filters)` yields, as a list."""
    task_filter = BpmnTaskFilter(**filters)
    mask = task_filter.state
    # The filters asked most (state, spec name: the parallel join's check, manual) are compared inline.
    only_state = filters.keys() <= {"state"}
    spec_name = filters.get("spec_name")
    manual = filters.get("manual")
    inline = not only_state and filters.keys() <= {"state", "spec_name", "manual"}
    min_state = _min_state(mask)
    finished_only = mask <= _FINISHED
    # Only tasks of SubWorkflowTask specs run subprocesses (`create_subprocess` has no other caller, and a
    # collaboration's triggered start runs a call activity): others skip the UUID-keyed lookup.
    subprocesses = workflow.top_workflow.subprocesses
    root = first_task or workflow.task_tree
    found: list[Task] = []
    stack: list[tuple[Task, int]] = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        state = task._state
        spec = task.task_spec
        subprocess = subprocesses.get(task.id) if subprocesses and isinstance(spec, SubWorkflowTask) else None
        child_ids = task._children
        if (child_ids or subprocess is not None) and (state >= min_state or subprocess is not None):
            if depth >= DEPTH_GUARD:
                raise _TooDeep
            lookup = task.workflow.tasks.get
            for child_id in reversed(child_ids):
                push((lookup(child_id), depth + 1))
            if subprocess is not None and not skip_subprocesses and not (state >= _FINISHED and finished_only):
                push((subprocess.task_tree, depth + 1))
        if not state & mask:
            continue
        if only_state:
            found.append(task)
        elif inline:
            if (spec_name is None or spec.name == spec_name) and (manual is None or spec.manual == manual):
                found.append(task)
        elif task_filter.matches(task):
            found.append(task)
    return found


def iter_state(root: Task, mask: int, max_depth: int = 1000) -> Iterator[Task]:
    """Lazily, what `TaskIterator(root, state=mask)` yields (one workflow, no subprocesses): each task's children
    are read when the task is reached, so a caller that changes the tree between steps sees what the stock
    iterator would. The stock depth counter equals the true depth within one workflow, so its `max_depth`
    applies unchanged."""
    min_state = _min_state(mask)
    stack: list[tuple[Task, int]] = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        state = task._state
        child_ids = task._children
        if child_ids and state >= min_state and depth < max_depth:
            lookup = task.workflow.tasks.get
            for child_id in reversed(child_ids):
                push((lookup(child_id), depth + 1))
        if state & mask:
            yield task


def _update_waiting_tasks(self: Workflow) -> None:
    # Workflow.update_waiting_tasks (run after every task completion), with the lazy iterator above.
    for task in iter_state(self.task_tree, TaskState.WAITING):
        task.task_spec._update(task)


def _get_tasks(self: BpmnBaseWorkflow, first_task: Task | None = None, **kwargs: Any) -> list[Task]:
    if not kwargs.keys() <= _FILTER_KEYS | {"skip_subprocesses"}:
        return _STOCK_GET_TASKS(self, first_task, **kwargs)
    try:
        return scan(self, first_task, **kwargs)
    except _TooDeep:
        return _STOCK_GET_TASKS(self, first_task, **kwargs)


def install() -> None:
    BpmnBaseWorkflow.get_tasks = _get_tasks  # type: ignore[method-assign]
    Workflow.update_waiting_tasks = _update_waiting_tasks  # type: ignore[method-assign]


def uninstall() -> None:
    BpmnBaseWorkflow.get_tasks = _STOCK_GET_TASKS  # type: ignore[method-assign]
    Workflow.update_waiting_tasks = _STOCK_UPDATE_WAITING  # type: ignore[method-assign]


def installed() -> bool:
    return BpmnBaseWorkflow.__dict__.get("get_tasks") is _get_tasks
