"""Move a running workflow onto another version of its process (SpiffWorkflow 3.2's `migrate_workflow`, made safe).

Spiff's helper swaps each task's spec for its aligned spec and resets every READY and WAITING task: their data
becomes the parent's, their internal data (timer due times, engine timer facts) is cleared and recomputed from
*now*, and their predicted children are rebuilt from the new spec (DESIGN.md §5). Around it we:

- align by element id through the designer's map (old id -> new id; unmapped ids stay the same), including the
  engine's derived specs (`review.BoundaryEventSplit`, `stage.EndJoin`);
- refuse (`MigrationRefused`, nothing changed) when an open, waiting or running element has no element in the
  target, changes its kind, or would lose its waiting timer;
- save the data and internal data of every READY/WAITING task and put them back after the reset, so due times,
  pauses and form data survive; then check that every open task and waiting timer still exists with its id;
- rebuild the predicted children of STARTED tasks (service jobs, running subprocesses), which Spiff leaves built
  from the old spec;
- drop finished tasks whose element the target no longer has from the state tree (their children move up to
  their parent): the state keeps only what the target's spec can load; history still records them.

The result lists what moved, so the caller can log it and replay can re-apply the same migration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.util.diff import migrate_workflow
from SpiffWorkflow.specs.base import TaskSpec
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import incremental_dump, timer_ops
from engine.bpmn.now import engine_now
from engine.bpmn.parsing import ParsedProcess
from engine.errors import InvalidInput, MigrationRefused

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
RESET = TaskState.READY | TaskState.WAITING  # what Spiff's migrate_workflow resets
UNREACHED = TaskState.PREDICTED_MASK | TaskState.FUTURE


@dataclass(frozen=True)
class ActiveElement:
    """An open user task, a waiting event (timer) or a running activity (service job, subprocess)."""

    spiff_task_id: str
    bpmn_id: str
    state: str
    due_at: datetime | None = None  # waiting timers

    def to_json(self) -> dict[str, Any]:
        return {"bpmn_id": self.bpmn_id, "state": self.state,
                "due_at": self.due_at.isoformat() if self.due_at else None}


@dataclass
class MigrationOutcome:
    moved: list[tuple[ActiveElement, ActiveElement]] = field(default_factory=list)  # (before, after)
    dropped: list[str] = field(default_factory=list)  # finished elements the target no longer has

    def renamed(self) -> dict[str, str]:
        return {b.bpmn_id: a.bpmn_id for b, a in self.moved if b.bpmn_id != a.bpmn_id}


class _Alignment:
    """What `migrate_workflow` reads from a diff: task -> aligned spec in the target (None: no counterpart)."""

    def __init__(self, alignment: dict[SpiffTask, TaskSpec | None]) -> None:
        self.alignment = alignment


def check_map(id_map: Mapping[str, str], source: ParsedProcess, target: ParsedProcess) -> dict[str, str]:
    """The map as plain strings; every key an element of the source version, every value one of the target."""
    if not isinstance(id_map, Mapping):
        raise InvalidInput("the element map must be a table of old id = new id")
    clean: dict[str, str] = {}
    for old, new in id_map.items():
        if not isinstance(old, str) or not isinstance(new, str) or not old or not new:
            raise InvalidInput(f"map entries are old id = \"new id\" strings, not {old!r} = {new!r}")
        if old not in source.elements:
            raise InvalidInput(f"map: {old!r} is not an element of the version migrated from")
        if new not in target.elements:
            raise InvalidInput(f"map: {new!r} is not an element of the version migrated to")
        clean[old] = new
    return clean


def mapped_name(name: str, id_map: Mapping[str, str]) -> str:
    """A spec name in the target: mapped ids, and derived specs (`<id>.BoundaryEventSplit`) follow their id."""
    if name in id_map:
        return id_map[name]
    head, dot, tail = name.partition(".")
    if dot and head in id_map:
        return f"{id_map[head]}.{tail}"
    return name


def _bpmn_id(task: SpiffTask) -> str | None:
    return getattr(task.task_spec, "bpmn_id", None)


def _all_tasks(workflow: BpmnWorkflow) -> Iterator[tuple[Any, SpiffTask]]:
    """(owning workflow or subworkflow, task) for every task, top level first."""
    for task in workflow.tasks.values():
        yield workflow, task
    for sub in workflow.subprocesses.values():
        for task in sub.tasks.values():
            yield sub, task


def active_elements(workflow: BpmnWorkflow) -> list[ActiveElement]:
    """Every READY/WAITING/STARTED task that is a BPMN element, in tree order."""
    found = []
    for task in workflow.get_tasks(state=ACTIVE):
        bpmn_id = _bpmn_id(task)
        if not bpmn_id:
            continue
        timer = timer_ops.facts(task)
        found.append(ActiveElement(str(task.id), bpmn_id, TaskState.get_name(task.state),
                                   timer.due_at if timer and task.state == TaskState.WAITING else None))
    return found


def _target_specs(target: ParsedProcess, owner: Any, workflow: BpmnWorkflow,
                  id_map: Mapping[str, str]) -> Any | None:
    """The target spec the (sub)workflow `owner` runs on, or None when the target has no such subprocess."""
    if owner is workflow:
        return target.spec
    return target.subprocess_specs.get(mapped_name(owner.spec.name, id_map))


def problems_for(workflow: BpmnWorkflow, target: ParsedProcess, id_map: Mapping[str, str], *,
                 target_label: str) -> list[str]:
    """Why the workflow cannot move (empty: it can). Nothing is changed."""
    problems: list[str] = []
    for owner, task in _all_tasks(workflow):
        if not task.has_state(ACTIVE):
            continue
        bpmn_id = _bpmn_id(task)
        spec = _target_specs(target, owner, workflow, id_map)
        new_name = mapped_name(task.task_spec.name, id_map)
        candidate = spec.task_specs.get(new_name) if spec is not None else None
        what = _describe(task)
        if candidate is None:
            where = "" if spec is not None else f" (its subprocess {owner.spec.name} is gone)"
            if bpmn_id:
                hint = " would be lost" if _is_timer(task) else f" has no element {new_name!r} in {target_label}"
                problems.append(f"{bpmn_id} ({what}){hint}{where}: map it to an element of {target_label}")
            continue
        if type(candidate) is not type(task.task_spec):
            problems.append(f"{bpmn_id or task.task_spec.name} ({what}) is a {type(task.task_spec).__name__} but "
                            f"{new_name!r} in {target_label} is a {type(candidate).__name__}")
        elif _is_timer(task) and not _is_timer_spec(candidate):
            problems.append(f"{bpmn_id} ({what}) would be lost: {new_name!r} in {target_label} is not a timer")
    for sub in workflow.subprocesses.values():
        owner_task = workflow.get_task_from_id(sub.parent_task_id)
        if owner_task is not None and owner_task.has_state(ACTIVE) and \
                target.subprocess_specs.get(mapped_name(sub.spec.name, id_map)) is None:
            problems.append(f"{sub.spec.name} (running subprocess) has no subprocess "
                            f"{mapped_name(sub.spec.name, id_map)!r} in {target_label}")
    return list(dict.fromkeys(problems))


def _is_timer_spec(spec: TaskSpec) -> bool:
    return isinstance(getattr(spec, "event_definition", None), TimerEventDefinition)


def _is_timer(task: SpiffTask) -> bool:
    return _is_timer_spec(task.task_spec)


def _describe(task: SpiffTask) -> str:
    state = TaskState.get_name(task.state)
    if _is_timer(task) and task.state == TaskState.WAITING:
        return "waiting timer"
    if task.state == TaskState.READY and task.task_spec.manual:
        return "open user task"
    if isinstance(task.task_spec, SubWorkflowTask):
        return "running subprocess"
    return f"{state.lower()} {type(task.task_spec).__name__}"


def _splice(owner: Any, task: SpiffTask) -> None:
    """Take a finished task out of its tree; its children take its place under its parent."""
    parent = task.parent
    if parent is None:
        raise MigrationRefused(f"{task.task_spec.name} is the root of its tree", problems=[])
    for child in task.children:
        child._parent = parent.id
    position = parent._children.index(task.id)
    parent._children[position:position + 1] = list(task._children)
    del owner.tasks[task.id]


def _drop_subtree(owner: Any, task: SpiffTask) -> None:
    for child in list(task.children):
        _drop_subtree(owner, child)
    if task.parent is not None and task.id in task.parent._children:
        task.parent._children.remove(task.id)
    owner.tasks.pop(task.id, None)


def _prune(workflow: BpmnWorkflow, target: ParsedProcess, id_map: Mapping[str, str]) -> list[str]:
    """Finished tasks without a counterpart leave the tree (with the subprocesses they ran)."""
    dropped: list[str] = []
    for owner, task in list(_all_tasks(workflow)):
        if task.id not in owner.tasks or not task.has_state(TaskState.FINISHED_MASK):
            continue
        spec = _target_specs(target, owner, workflow, id_map)
        if spec is not None and mapped_name(task.task_spec.name, id_map) in spec.task_specs:
            continue
        if task.id in workflow.subprocesses:
            workflow.delete_subprocess(task)
        _splice(owner, task)
        if _bpmn_id(task):
            dropped.append(str(_bpmn_id(task)))
    # A finished subprocess whose spec the target lacks, under a task that stays: its tree goes too.
    for sub_id, sub in list(workflow.subprocesses.items()):
        if target.subprocess_specs.get(mapped_name(sub.spec.name, id_map)) is None and sub_id in workflow.subprocesses:
            workflow.delete_subprocess(workflow.get_task_from_id(sub_id))
    return dropped


def _repredict_started(workflow: BpmnWorkflow) -> None:
    """A STARTED task's predicted children were built from the old spec: rebuild them from the new one."""
    for task in workflow.get_tasks(state=TaskState.STARTED):
        if task.children and all(child.has_state(UNREACHED) for child in task.children):
            for child in list(task.children):
                _drop_subtree(task.workflow, child)
            task.task_spec._predict(task, mask=UNREACHED | TaskState.STARTED)


def _drop_stale_predictions(workflow: BpmnWorkflow, target: ParsedProcess, id_map: Mapping[str, str]) -> None:
    for owner, task in list(_all_tasks(workflow)):
        if task.id not in owner.tasks or not task.has_state(UNREACHED):
            continue
        spec = _target_specs(target, owner, workflow, id_map)
        if spec is None or task.task_spec.name not in spec.task_specs:
            _drop_subtree(owner, task)


def migrate(workflow: BpmnWorkflow, target: ParsedProcess, id_map: Mapping[str, str], now: datetime, *,
            target_label: str) -> MigrationOutcome:
    """Move `workflow` onto `target` in place, or raise `MigrationRefused` before changing anything."""
    problems = problems_for(workflow, target, id_map, target_label=target_label)
    if problems:
        raise MigrationRefused(f"cannot move to {target_label}: " + "; ".join(problems), problems=problems)
    before = active_elements(workflow)
    incremental_dump.forget(workflow)  # specs and data are swapped on finished tasks: the next dump encodes all
    saved = {task.id: (task.data, task.internal_data) for task in workflow.get_tasks(state=RESET)}
    outcome = MigrationOutcome()
    with engine_now(now):
        outcome.dropped = _prune(workflow, target, id_map)
        owners = [workflow, *workflow.subprocesses.values()]
        for owner in owners:
            spec = target.spec if owner is workflow else _target_specs(target, owner, workflow, id_map)
            alignment = {task: spec.task_specs.get(mapped_name(task.task_spec.name, id_map))
                         for task in owner.tasks.values()}
            migrate_workflow(_Alignment(alignment), owner, spec)
        workflow.subprocess_specs = target.subprocess_specs
        for task_id, (data, internal) in saved.items():
            task = workflow.get_task_from_id(task_id) if _has_task(workflow, task_id) else None
            if task is not None:
                task.data, task.internal_data = data, internal
        _repredict_started(workflow)
        _drop_stale_predictions(workflow, target, id_map)
    after = {a.spiff_task_id: a for a in active_elements(workflow)}
    lost = []
    for element in before:
        moved = after.get(element.spiff_task_id)
        if moved is None or moved.state != element.state or moved.due_at != element.due_at:
            lost.append(f"{element.bpmn_id} ({element.state.lower()}) did not survive the move"
                        if moved is None else f"{element.bpmn_id} changed from {element.state} to {moved.state}"
                        if moved.state != element.state else f"{element.bpmn_id}'s due time changed")
            continue
        outcome.moved.append((element, moved))
    if lost:
        raise MigrationRefused(f"cannot move to {target_label}: " + "; ".join(lost), problems=lost)
    return outcome


def _has_task(workflow: BpmnWorkflow, task_id: UUID) -> bool:
    if task_id in workflow.tasks:
        return True
    return any(task_id in sub.tasks for sub in workflow.subprocesses.values())
