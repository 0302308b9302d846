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

`find` answers the same question without walking the tree, when the matches are few (do_engine_steps asks for
the READY tasks of every active subprocess, then of the whole workflow, after every command): it takes the matching
tasks from the workflows' task dicts (no UUID hashing), walks up from each to the root to check that `scan` reaches it
(every ancestor descended into, each a listed child of its parent, each subprocess entered through its task) and
sorts them by their path, which is `scan`'s depth-first order. A tree of fewer than `DEPTH_GUARD` tasks in all
cannot reach the depth guard; larger trees, many matches or other arguments go to `scan`. `reached` is the same
walk up without the order, for the parallel join's check (fast_join).

`install()` patches `BpmnBaseWorkflow.get_tasks` (which `BpmnWorkflow.do_engine_steps`, the parallel
gateway's join check and our runtime call), `Workflow.update_waiting_tasks` (after every task completion: a
lazy state-only walk, `iter_state`, skipped when no task waits, and replaced by a walk up from the task when
the one task waiting is a join's: tests/unit/bpmn/test_waiting_update.py) and `Workflow.is_completed` (after every command:
decided from the unfinished tasks up, `yields_unfinished`); `uninstall()` restores all three
(tests compare against stock). The walks up of `find` and `is_completed` go through a memo of the COMPLETED chains
that hang from the root (`_hangs_from_root`): without it the last command of a 200-task sequence walked a chain
~400 deep twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.util.subworkflow import BpmnBaseWorkflow
from SpiffWorkflow.bpmn.util.task import BpmnTaskFilter
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

DEPTH_GUARD = 500
_STOCK_GET_TASKS = BpmnBaseWorkflow.__dict__.get("get_tasks", Workflow.get_tasks)
_STOCK_UPDATE_WAITING = Workflow.update_waiting_tasks
_STOCK_IS_COMPLETED = Workflow.is_completed
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


# More matches than this, and than a quarter of the tasks, go to `scan`: ordering many long paths costs about what
# the walk does, but a wide fork's matches have short paths (fan-out 36: the 36 open branches were scanned, every
# task of the tree, after each command until 24 were left; valgrind: 0.9% fewer instructions per instance).
FIND_LIMIT = 24
_FIND_KEYS = frozenset({"state", "spec_name", "manual", "skip_subprocesses"})
_UNKNOWN: Any = object()
_NOWHERE = (False, False, None)
_SHORT = 4  # up to this many children, `list.index` costs less than building a map of them


def _nested(workflow: BpmnBaseWorkflow, subprocesses: dict[Any, BpmnBaseWorkflow]) -> list[BpmnBaseWorkflow]:
    """The subprocesses run by a task of `workflow`, or (recursively) of one of those."""
    rest = [sub for sub in subprocesses.values() if sub is not workflow]
    tasks = workflow.tasks
    found = [sub for sub in rest if sub.parent_task_id in tasks]
    level = found
    while level and len(found) < len(rest):
        inside = {id(sub) for sub in found}
        level = [sub for sub in rest if id(sub) not in inside
                 and any(sub.parent_task_id in owner.tasks for owner in level)]
        found += level
    return found


def _owner_of(workflows: list[BpmnBaseWorkflow]) -> Callable[[BpmnBaseWorkflow], Task | None]:
    """The task (in one of `workflows`) that runs a given subprocess, or None; memoized per subprocess object."""
    owners: dict[int, Task | None] = {}

    def owner(sub: BpmnBaseWorkflow) -> Task | None:
        task = owners.get(id(sub), _UNKNOWN)
        if task is _UNKNOWN:
            task_id = sub.parent_task_id
            task = owners[id(sub)] = next((wf.tasks[task_id] for wf in workflows if task_id in wf.tasks), None)
        return task

    return owner


_COMPLETED = TaskState.COMPLETED
_ROOTED = "_approvals_rooted"  # the memo's flag in a task's __dict__


def _hangs_from_root(task: Task) -> bool:
    """Whether `task` hangs from its workflow's root through COMPLETED tasks only (itself and the root included),
    each a listed child of its parent: then every scan of this workflow whose minimum state is at most COMPLETED
    reaches it, and so does `is_completed`'s walk, as far as the depth guard.

    Memoized on the tasks themselves (a flag per COMPLETED task), so that the walks up a long sequence cost the
    tasks added since the last one instead of the whole chain. A flag stays true while its task is COMPLETED:
    Spiff unlists a child only when it takes it out of the task dict too (`_remove_task`), never re-parents a
    task, and only `reset_branch` takes a task out of COMPLETED, dropping everything below it (a flag met on a
    task that is no longer COMPLETED ends the walk: False, no flag set). Flags are not serialized: a workflow
    loaded from its state starts without them."""
    chain = []
    node = task
    wf = task.workflow
    tasks, root = wf.tasks, wf.task_tree
    while not node.__dict__.get(_ROOTED):
        if node._state != _COMPLETED:
            return False
        chain.append(node)
        if node is root:
            break
        parent = tasks.get(node._parent) if node._parent is not None else None
        if parent is None or node.id not in parent._children:
            return False
        node = parent
    else:
        if node._state != _COMPLETED:
            return False
    for node in chain:
        node.__dict__[_ROOTED] = True
    return True


def find(workflow: BpmnBaseWorkflow, first_task: Task | None = None, *, state: int = TaskState.ANY_MASK,
         spec_name: str | None = None, manual: bool | None = None,
         skip_subprocesses: bool = False) -> list[Task] | None:
    """What `scan(workflow, first_task, ...)` returns, found from the matching tasks up; None if that is not cheap
    (another first task, a tree of `DEPTH_GUARD` tasks or more, more than `FIND_LIMIT` matches and a quarter of the
    tasks)."""
    root = workflow.task_tree
    if first_task is not None and first_task is not root:
        return None
    top = workflow.top_workflow
    subprocesses = top.subprocesses
    workflows = [workflow]
    if subprocesses and not skip_subprocesses:
        workflows.extend(subprocesses.values() if workflow is top else _nested(workflow, subprocesses))
    size = 0
    for wf in workflows:
        size += len(wf.tasks) + 1
    if size >= DEPTH_GUARD:  # no task can be as deep as the guard: `scan` would not give up either
        return None
    limit = max(FIND_LIMIT, size >> 2)
    matches: list[Task] = []
    for wf in workflows:
        if spec_name is None and manual is None:
            tasks = wf.tasks.values()
            # A comprehension, not a `compress` of `attrgetter` maps: Python 3.11 specializes its attribute load, which
            # `attrgetter`'s generic lookup is not (129 tasks: 6.8 vs 15.8 us).
            matches += [task for task in tasks if task._state & state]
        else:
            matches += [task for task in wf.tasks.values() if task._state & state
                        and (spec_name is None or task.task_spec.name == spec_name)
                        and (manual is None or task.task_spec.manual == manual)]
        if len(matches) > limit:
            return None
    if not matches:
        return matches
    min_state = _min_state(state)
    finished_only = state <= _FINISHED
    # Each task's path from the root as `scan` reaches it (child indexes; -1: a subprocess's tree, which the scan
    # visits before the children of the task running it), or None if the scan does not reach it.
    paths: dict[int, tuple[int, ...] | None] = {id(root): ()}
    owner = _owner_of(workflows)
    # A child's index among its parent's children (`list.index`: the first equal id). `index` compares the ids one by
    # one (a pure-Python `UUID.__eq__` each), so the matches under a wide fork cost O(width) each; a parent with
    # more than a few children gets a map from id to first index instead (one `UUID.__hash__` per child, once).
    positions: dict[int, dict[Any, int]] = {}

    def position(parent: Task, child_id: Any) -> int | None:
        children = parent._children
        if len(children) <= _SHORT:
            return children.index(child_id) if child_id in children else None
        index = positions.get(id(parent))
        if index is None:
            # Reversed, so that an id listed twice keeps its first index, as `list.index` finds it.
            index = positions[id(parent)] = dict(zip(reversed(children), range(len(children) - 1, -1, -1)))
        return index.get(child_id)

    def up(node: Task) -> Task | None:
        """The task the scan reaches `node` from: its parent, the task running its subprocess, or None (a root
        other than the scan's)."""
        wf = node.workflow
        if node._parent is not None:
            return wf.tasks.get(node._parent)
        if wf is not workflow and node is wf.task_tree:
            return owner(wf)
        return None

    def step(parent: Task, child: Task) -> int | None:
        """The scan's step from `parent` to `child` (a child index; -1: into the subprocess `parent` runs), or None
        if the scan does not take it."""
        runs = subprocesses.get(parent.id) if isinstance(parent.task_spec, SubWorkflowTask) else None
        if child._parent is None:  # the tree of the subprocess that `parent` runs
            entered = (runs is child.workflow and not skip_subprocesses
                       and not (parent._state >= _FINISHED and finished_only))
            return -1 if entered else None
        if parent._state >= min_state or runs is not None:
            return position(parent, child.id)
        return None

    def path(task: Task) -> tuple[int, ...] | None:
        chain = []  # the tasks above `task` whose path is not known yet, bottom first
        node: Task | None = task
        key = paths.get(id(task), _UNKNOWN)
        while key is _UNKNOWN:
            chain.append(node)
            node = up(node)
            key = None if node is None else paths.get(id(node), _UNKNOWN)
        for child in reversed(chain):
            if key is not None:
                index = step(node, child)
                key = None if index is None else key + (index,)
            paths[id(child)] = key
            node = child
        return key

    def reachable(task: Task) -> bool:
        """`path(task) is not None` without building its key: one match needs no order, and in a deep tree (a long
        sequence is a chain of tasks hundreds deep) the key's tuple, rebuilt at every level, grew quadratically.
        From the first COMPLETED task up, a workflow's part of the walk is `_hangs_from_root`'s memo when every
        COMPLETED task is descended into (if that walk fails, the plain walk goes on, without the memo)."""
        node = task
        memo = min_state <= _COMPLETED
        while node is not root:
            if memo and node._state == _COMPLETED:
                if _hangs_from_root(node):
                    if node.workflow is workflow:
                        return True
                    node = node.workflow.task_tree  # a subprocess's root: on through the task running it
                else:
                    memo = False
            parent = up(node)
            if parent is None or step(parent, node) is None:
                return False
            node = parent
        return True

    if len(matches) == 1:
        return matches if reachable(matches[0]) else []
    ranked = []
    for task in matches:
        key = path(task)
        if key is not None:
            ranked.append((key, task))
    if len(ranked) > 1:
        ranked.sort(key=itemgetter(0))
    return [task for _key, task in ranked]


def searched(workflow: BpmnBaseWorkflow) -> list[BpmnBaseWorkflow]:
    """The (sub)workflows whose tasks a scan from `workflow`'s root may meet: it and the subprocesses under it."""
    top = workflow.top_workflow
    subprocesses = top.subprocesses
    workflows = [workflow]
    if subprocesses:
        workflows.extend(subprocesses.values() if workflow is top else _nested(workflow, subprocesses))
    return workflows


def reached(workflow: BpmnBaseWorkflow, spec_name: str, anchor: Task) -> list[tuple[Task, Task | None, bool]] | None:
    """The tasks `scan(workflow, spec_name=spec_name)` returns, in no particular order, each with its `parent`
    (property) and whether it is a descendant of `anchor` (`Task.is_descendant_of`); None for a tree of
    `DEPTH_GUARD` tasks or more (as `find`).

    For the parallel join's check (fast_join), which asks this after every completion: a fan-out's join has a task
    under every branch, so `find` would order as many paths, and `scan` walks the whole tree (a UUID hash per task
    and child) to find them. Here each match is walked up only until a task met before (the fork, once per call),
    and a wide parent's children are compared by object id first (Spiff lists a child under the id object it is
    keyed by; a miss falls back to comparing values). A task is reached as `find`'s `path` decides (the scan's
    rules for any state: every child listed by its parent, a subprocess's tree through the task running it); it
    is below `anchor` if the walk up its `parent` property (within its own workflow) meets `anchor`."""
    subprocesses = workflow.top_workflow.subprocesses
    workflows = searched(workflow)
    size = 0
    for wf in workflows:
        size += len(wf.tasks) + 1
    if size >= DEPTH_GUARD:
        return None
    root = workflow.task_tree
    if root._parent is not None:
        return None  # Spiff's roots have no parent; the walk up would not stop at this one
    matches = []
    for wf in workflows:
        tasks = wf.tasks.values()
        matches += [task for task in tasks if task.task_spec.name == spec_name]  # a comprehension: as in `find`
    # Per task met (keyed by the task: Task defines neither __eq__ nor __hash__, so a lookup hashes its address in C):
    # (reached by the scan, below `anchor`, its `parent`).
    known: dict[Task, tuple[bool, bool, Task | None]] = {root: (True, False, None)}
    # A `_parent` id object to its task, per task dict: the branches under a fork share their parent's id object.
    parents: dict[int, tuple[Any, dict[Any, Task], Task | None]] = {}
    listed: dict[int, set[int]] = {}  # a wide parent's child id objects
    owner = _owner_of(workflows)

    def edge(node: Task, child_id: Any) -> bool:
        # Whether the scan goes from `node` to its child `child_id` (every state is >= MAYBE: it descends into
        # every task that lists the child).
        if node._state < TaskState.MAYBE and _runs(node, subprocesses) is None:
            return False
        children = node._children
        if len(children) <= _SHORT:
            return child_id in children
        ids = listed.get(id(node))
        if ids is None:
            ids = listed[id(node)] = {id(each) for each in children}
        return id(child_id) in ids or child_id in children

    def climb(task: Task) -> tuple[bool, bool, Task | None]:
        # Up from `task` until a task met before, then each task's answer down.
        chain = []  # the tasks above `task` not met yet, bottom first, each with its `parent`
        node: Task | None = task
        info = None
        while info is None:
            parent_id = node._parent  # type: ignore[union-attr]
            if parent_id is not None:
                tasks = node.workflow.tasks  # type: ignore[union-attr]
                entry = parents.get(id(parent_id))
                if entry is None or entry[1] is not tasks:
                    entry = parents[id(parent_id)] = (parent_id, tasks, tasks.get(parent_id))
                chain.append((node, entry[2]))
                node = entry[2]
            else:
                chain.append((node, None))
                wf = node.workflow  # type: ignore[union-attr]
                # A subprocess's tree hangs from the task running it; any other root is not the scan's.
                node = owner(wf) if wf is not workflow and node is wf.task_tree else None
            info = _NOWHERE if node is None else known.get(node)
        for child, parent in reversed(chain):
            reach = info[0]
            if reach:  # `node` is the task above `child`: its parent, or the task running its subprocess
                if child._parent is None:  # the tree of the subprocess that `node` runs
                    reach = _runs(node, subprocesses) is child.workflow  # type: ignore[arg-type]
                else:
                    reach = edge(node, child.id)  # type: ignore[arg-type]
            # `parent` is None or `node`: the walk went up the `parent` property, as `is_descendant_of` does.
            info = known[child] = (reach, parent is not None and (parent is anchor or info[1]), parent)
            node = child
        return info

    found = []
    maybe = TaskState.MAYBE
    for task in matches:
        info = known.get(task)
        if info is None and task._parent is not None:
            # The usual shape (a fan-out's join task, under its branch, under the fork met before): two levels
            # inline, with `climb`'s answers.
            parent = task.workflow.tasks.get(task._parent)
            if parent is not None:
                above = known.get(parent)
                if above is None and parent._parent is not None:
                    tasks, grand_id = parent.workflow.tasks, parent._parent
                    entry = parents.get(id(grand_id))
                    if entry is None or entry[1] is not tasks:
                        entry = parents[id(grand_id)] = (grand_id, tasks, tasks.get(grand_id))
                    grand = entry[2]
                    top_info = None if grand is None else known.get(grand)
                    if top_info is not None:
                        above = known[parent] = (top_info[0] and edge(grand, parent.id),  # type: ignore[arg-type]
                                                 grand is anchor or top_info[1], grand)
                if above is not None:
                    # `edge(parent, task.id)`, inline for a parent descended into with a few children (a branch).
                    children = parent._children
                    if not above[0]:
                        reach = False
                    elif parent._state >= maybe and len(children) <= _SHORT:
                        reach = task.id in children
                    else:
                        reach = edge(parent, task.id)
                    info = known[task] = (reach, parent is anchor or above[1], parent)
        if info is None:
            info = climb(task)
        if info[0]:
            found.append((task, info[2], info[1]))
    return found


def _runs(task: Task, subprocesses: dict[Any, BpmnBaseWorkflow]) -> BpmnBaseWorkflow | None:
    return subprocesses.get(task.id) if isinstance(task.task_spec, SubWorkflowTask) else None


def iter_state(root: Task, mask: int, max_depth: int = 1000, end_at_spec: str | None = None) -> Iterator[Task]:
    """Lazily, what `TaskIterator(root, state=mask, end_at_spec=end_at_spec)` yields (one workflow, no
    subprocesses): each task's children are read when the task is reached, so a caller that changes the tree
    between steps sees what the stock iterator would. The stock depth counter equals the true depth within one
    workflow, so its `max_depth` applies unchanged; a task of the `end_at_spec` spec is yielded, its children
    are not walked."""
    min_state = _min_state(mask)
    stack: list[tuple[Task, int]] = [(root, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        state = task._state
        child_ids = task._children
        if (child_ids and state >= min_state and depth < max_depth
                and (end_at_spec is None or task.task_spec.name != end_at_spec)):
            lookup = task.workflow.tasks.get
            for child_id in reversed(child_ids):
                push((lookup(child_id), depth + 1))
        if state & mask:
            yield task


def _update_waiting_tasks(self: Workflow) -> None:
    # Workflow.update_waiting_tasks (run after every task completion), with the lazy iterator above. The walk reaches
    # only tasks of this workflow and nothing changes them before it yields one: none WAITING, no walk (about half
    # of the calls in a simulation). One WAITING task, a join's (a parallel branch completed: the join waits for the
    # others), is updated without the walk if the walk would reach it: its update changes only itself and the
    # other WAITING tasks of its spec (UnstructuredJoin._update_hook), of which there are none, so the rest of the
    # walk would yield nothing. In a fan-out the walk visited every branch after every completion.
    waiting = TaskState.WAITING
    found = []
    for task in self.tasks.values():  # a loop, not a `compress` of `attrgetter` maps: as in `find`
        if task._state & waiting:
            found.append(task)
            if len(found) == 2:
                break
    if len(found) < 2:
        if not found:
            return
        first = found[0]
        if self.__dict__.get(REPEATED) is first:
            return  # its update just ran on this very tree (fast_join.task_completed_notify)
        if type(first.task_spec)._update_hook in JOIN_UPDATES and _walk_reaches(self, first):
            first.task_spec._update(first)
            return
    for task in iter_state(self.task_tree, waiting):
        task.task_spec._update(task)


# UnstructuredJoin._update_hook and the equivalents fast_join installs; a spec that overrides it is walked to.
JOIN_UPDATES = {UnstructuredJoin._update_hook}
REPEATED = "_engine_join_repeated"  # on a workflow while fast_join says a join task's update would repeat
_WALKED_INTO = _min_state(TaskState.WAITING)  # iter_state descends into the children of tasks from this state up


def _walk_reaches(workflow: Workflow, task: Task) -> bool:
    """Whether `iter_state(workflow.task_tree, WAITING)` reaches `task`: each task above it is descended into (a
    state from FUTURE up, depth below the iterator's limit) and lists it as a child, up to the workflow's root."""
    tasks, node, depth = workflow.tasks, task, 0
    while node._parent is not None:
        parent = tasks.get(node._parent)
        if parent is None or parent._state < _WALKED_INTO or node.id not in parent._children:
            return False
        node, depth = parent, depth + 1
    return node is workflow.task_tree and depth <= _STOCK_MAX_DEPTH


_NOT_FINISHED = TaskState.NOT_FINISHED_MASK


_STOCK_MAX_DEPTH = 1000  # TaskIterator's default max_depth


def yields_unfinished(workflow: Workflow, skip: Task | None = None, end_at_spec: str | None = None) -> bool | None:
    """Whether `TaskIterator(workflow.task_tree, state=NOT_FINISHED_MASK, end_at_spec=end_at_spec)` yields a task
    other than `skip` (its filter also asks `last_state_change >= 0`), decided from the unfinished tasks up
    instead of walking down the whole tree to the first (a long sequence is a chain hundreds deep); None where
    only that walk can tell.

    That walk descends into every state (the mask holds the predicted ones), so it reaches a task when each task
    above it lists it and is not of the `end_at_spec` spec (whose children it does not walk), up to its depth
    limit, which no task reaches while the tree has fewer tasks than that (else None). A COMPLETED task that hangs
    from the root (`_hangs_from_root`'s memo) is reached and walked into unless a COMPLETED task of the
    `end_at_spec` spec could be in its chain (then None). Newest first: the unfinished tasks of a long instance
    are the last added; each task's answer is kept for the rest of the call (predicted chains share theirs)."""
    tasks = workflow.tasks
    if len(tasks) >= _STOCK_MAX_DEPTH:
        return None
    if end_at_spec is not None and any(task._state == _COMPLETED and task.task_spec.name == end_at_spec
                                       for task in tasks.values()):
        return None
    root = workflow.task_tree
    known: dict[int, bool] = {}  # per task met: whether the walk reaches it
    memo = [True]  # off once `_hangs_from_root` failed (asking again at every task above would be quadratic)

    def reached(task: Task) -> bool:
        chain = []  # tasks whose answer waits on their parent's, bottom first
        node = task
        while True:
            answer = known.get(id(node))
            if answer is not None:
                break
            if node is root:
                answer = True
                break
            if memo[0] and node._state == _COMPLETED:
                if _hangs_from_root(node):
                    answer = True
                    break
                memo[0] = False
            parent = tasks.get(node._parent) if node._parent is not None else None
            if parent is None or node.id not in parent._children:
                answer = False
                break
            chain.append(node)
            node = parent
        known[id(node)] = answer
        for child in reversed(chain):
            answer = answer and node.task_spec.name != end_at_spec
            known[id(child)] = answer
            node = child
        return answer

    for task in reversed(tasks.values()):
        if task._state & _NOT_FINISHED and task.last_state_change >= 0 and task is not skip and reached(task):
            return True
    return False


def _is_completed(self: Workflow) -> bool:
    # Workflow.is_completed: whether `TaskIterator(task_tree, state=NOT_FINISHED_MASK)` yields nothing (its filter
    # also asks `last_state_change >= updated_ts`, 0).
    if not self.completed:
        unfinished = yields_unfinished(self)
        if unfinished is None:
            unfinished = any(task.last_state_change >= 0 for task in iter_state(self.task_tree, _NOT_FINISHED))
        if unfinished:
            return False
        self.completed = True
    return self.completed


def _get_tasks(self: BpmnBaseWorkflow, first_task: Task | None = None, **kwargs: Any) -> list[Task]:
    if not kwargs.keys() <= _FILTER_KEYS | {"skip_subprocesses"}:
        return _STOCK_GET_TASKS(self, first_task, **kwargs)
    if kwargs.keys() <= _FIND_KEYS:
        found = find(self, first_task, **kwargs)
        if found is not None:
            return found
    try:
        return scan(self, first_task, **kwargs)
    except _TooDeep:
        return _STOCK_GET_TASKS(self, first_task, **kwargs)


def install() -> None:
    BpmnBaseWorkflow.get_tasks = _get_tasks  # type: ignore[method-assign]
    Workflow.update_waiting_tasks = _update_waiting_tasks  # type: ignore[method-assign]
    Workflow.is_completed = _is_completed  # type: ignore[method-assign]


def uninstall() -> None:
    BpmnBaseWorkflow.get_tasks = _STOCK_GET_TASKS  # type: ignore[method-assign]
    Workflow.update_waiting_tasks = _STOCK_UPDATE_WAITING  # type: ignore[method-assign]
    Workflow.is_completed = _STOCK_IS_COMPLETED  # type: ignore[method-assign]


def installed() -> bool:
    return BpmnBaseWorkflow.__dict__.get("get_tasks") is _get_tasks
