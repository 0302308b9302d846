"""Drive a `BpmnWorkflow`: start, complete a user task, step the engine, and report what is now waiting.

Every call into Spiff goes through here, inside `engine_now(now)`, and Spiff exceptions leave as ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import external_tasks, timer_ops
from engine.bpmn.external_tasks import JobRequest
from engine.bpmn.now import engine_now
from engine.bpmn.parsing import ParsedProcess
from engine.bpmn.script_env import make_script_engine
from engine.bpmn.timers import bind_calendar  # noqa: F401  (services bind the calendar through runtime)
from engine.errors import SandboxViolation, ScriptFailed, TaskAlreadyCompleted, TaskNotFound

T = TypeVar("T")


@dataclass(frozen=True)
class ReadyTask:
    spiff_task_id: str
    bpmn_id: str
    name: str | None


@dataclass(frozen=True)
class WaitingTimer:
    spiff_task_id: str
    bpmn_id: str
    due_at: datetime | None
    # Engine timer facts (engine/bpmn/timers.py); defaults describe a stock Spiff timer.
    calendar: str = "natural"
    provisional: bool = False
    pausable: bool = False
    paused_on: date | None = None
    basis: dict[str, Any] | None = None
    cycle: bool = False


@dataclass
class StepResult:
    human_tasks: list[ReadyTask]
    timers: list[WaitingTimer]
    done: bool
    completed_elements: list[str] = field(default_factory=list)
    # Service tasks that started in this step and need job rows (engine/bpmn/external_tasks.py).
    job_requests: list[JobRequest] = field(default_factory=list)


@contextmanager
def _spiff_errors() -> Iterator[None]:
    try:
        yield
    except (WorkflowException, SpiffWorkflowException) as exc:
        task = getattr(exc, "task", None)
        bpmn_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
        line = getattr(exc, "line_number", None) or None
        detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        # Spiff wraps our SandboxViolation without keeping it as an attribute: surface its message.
        inner = exc.__cause__ or exc.__context__
        if isinstance(inner, SandboxViolation):
            detail = f"{detail}: {inner.detail}"
        raise ScriptFailed(f"{bpmn_id or 'process'}: {detail}", bpmn_id=bpmn_id, line=line) from exc


def _run(now: datetime, fn: Callable[[], T]) -> T:
    with engine_now(now), _spiff_errors():
        return fn()


def new_workflow(parsed: ParsedProcess, variables: dict[str, Any], now: datetime) -> BpmnWorkflow:
    def build() -> BpmnWorkflow:
        workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=make_script_engine())
        workflow.data.update(variables)
        # Start-event data: the root task's data flows to the first tasks.
        workflow.get_tasks(state=TaskState.READY)[0].data.update(variables)
        return workflow

    return _run(now, build)


def advance(workflow: BpmnWorkflow, now: datetime) -> StepResult:
    """Run every engine task that is ready (gateways, scripts, due timers) and report the waiting state."""
    completed: list[str] = []

    def note(task: SpiffTask) -> None:
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id:
            completed.append(bpmn_id)

    def step() -> StepResult:
        workflow.refresh_timers()
        workflow.do_engine_steps(did_complete_task=note)
        return snapshot(workflow, completed)

    with external_tasks.collect_job_requests() as job_requests:
        result = _run(now, step)
    result.job_requests = job_requests
    return result


def fire_due_timers(workflow: BpmnWorkflow, now: datetime) -> StepResult:
    """`advance` before a clerk's completion: fire the timers due at `now` and step the engine only if one did.

    Every command ends with `do_engine_steps` (nothing ready is left to run), and between commands only time
    moves, so if refreshing the timers changed no task, stepping again would change nothing: it is skipped
    (approval_9: a scan of every subprocess per review). The result carries what ran and the job requests; its
    task lists are empty (callers take those from the step that follows).
    """
    completed: list[str] = []

    def note(task: SpiffTask) -> None:
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if bpmn_id:
            completed.append(bpmn_id)

    def marks() -> list[tuple[int, int, float]]:
        return [(id(t), t._state, t.last_state_change) for t in workflow.event_manager.tasks.values()]

    def step() -> None:
        before = marks()
        workflow.refresh_timers()
        if marks() != before:
            workflow.do_engine_steps(did_complete_task=note)

    with external_tasks.collect_job_requests() as job_requests:
        _run(now, step)
    return StepResult([], [], False, completed, job_requests)


def snapshot(workflow: BpmnWorkflow, completed: list[str] | None = None) -> StepResult:
    # One walk for both lists: READY and WAITING are both definite states, so the walk descends into the same
    # tasks for either, and splitting its result keeps each list in the order of its own walk.
    found = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    human = _ready_tasks(workflow, [t for t in found if t._state == TaskState.READY and t.task_spec.manual])
    timers = []
    for t in (t for t in found if t._state == TaskState.WAITING):
        event_definition = getattr(t.task_spec, "event_definition", None)
        if isinstance(event_definition, TimerEventDefinition):
            engine_facts = timer_ops.facts(t)
            if engine_facts is not None:
                timers.append(WaitingTimer(engine_facts.spiff_task_id, engine_facts.bpmn_id, engine_facts.due_at,
                                           engine_facts.calendar, engine_facts.provisional, engine_facts.pausable,
                                           engine_facts.paused_on, engine_facts.basis, engine_facts.cycle))
                continue
            timers.append(WaitingTimer(str(t.id), t.task_spec.bpmn_id, _due_at(t)))
    return StepResult(human, timers, workflow.is_completed(), list(completed or []))


_READY_MEMO = "_engine_ready_tasks"


def _ready_tasks(workflow: BpmnWorkflow, tasks: list[SpiffTask]) -> list[ReadyTask]:
    """A `ReadyTask` per task. An open user task stays open over many commands (a wide fan-out: every branch), and
    building one costs a pure-Python `UUID.__str__` and a frozen dataclass: the last snapshot's are kept on the
    workflow (only those still listed) and reused when made from the same task, id object and spec values."""
    memo: dict[int, tuple[SpiffTask, UUID, Any, str, str | None, ReadyTask]] = workflow.__dict__.get(_READY_MEMO) or {}
    kept = {}
    human = []
    for task in tasks:
        spec = task.task_spec
        entry = memo.get(id(task))
        if (entry is None or entry[0] is not task or entry[1] is not task.id or entry[2] is not spec
                or entry[3] != spec.bpmn_id or entry[4] != spec.bpmn_name):
            ready = ReadyTask(str(task.id), spec.bpmn_id, spec.bpmn_name)
            entry = (task, task.id, spec, spec.bpmn_id, spec.bpmn_name, ready)
        kept[id(task)] = entry
        human.append(entry[5])
    workflow.__dict__[_READY_MEMO] = kept
    return human


def _due_at(task: SpiffTask) -> datetime | None:
    value = task._get_internal_data("event_value")
    if isinstance(value, dict):  # cycle timers keep {"next": ...}
        value = value.get("next")
    if not isinstance(value, str):
        return None
    try:
        return TimerEventDefinition.get_datetime(value)
    except ValueError:
        return None


def find_task(workflow: BpmnWorkflow, spiff_task_id: str) -> SpiffTask:
    try:
        task = workflow.get_task_from_id(UUID(spiff_task_id))
    except (ValueError, KeyError):
        task = None
    if task is None:
        raise TaskNotFound(f"task {spiff_task_id} is not part of this instance")
    return task


def complete_user_task(workflow: BpmnWorkflow, spiff_task_id: str, data: dict[str, Any], now: datetime) -> StepResult:
    """Complete a READY manual task with `data`, then step the engine.

    Spiff marks a CANCELLED task COMPLETED if asked to run it: the state is checked here, under the caller's lock.
    """
    task = find_task(workflow, spiff_task_id)
    if task.state != TaskState.READY or not task.task_spec.manual:
        raise TaskAlreadyCompleted(
            f"{task.task_spec.bpmn_id} is {TaskState.get_name(task.state)}, not open",
            state=TaskState.get_name(task.state),
        )

    def run() -> None:
        task.data.update(data)
        task.run()

    _run(now, run)
    result = advance(workflow, now)
    result.completed_elements.insert(0, task.task_spec.bpmn_id)
    return result


def workflow_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The process-level variables: the last completed task's data (Spiff keeps data on tasks)."""
    if workflow.is_completed() and workflow.last_task is not None:
        return dict(workflow.last_task.data)
    return dict(workflow.data)


def task_data(workflow: BpmnWorkflow, spiff_task_id: str) -> dict[str, Any]:
    """A copy of what one task sees (a user task's form prefills from it)."""
    return dict(find_task(workflow, spiff_task_id).data)


def open_task_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """What a running instance's open (ready, waiting, started) tasks see, merged: its current variables."""
    merged: dict[str, Any] = {}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING | TaskState.STARTED):
        merged.update(task.data)
    return merged


def cancel(workflow: BpmnWorkflow, now: datetime) -> None:
    _run(now, workflow.cancel)


def task_state(workflow: BpmnWorkflow, spiff_task_id: str) -> str | None:
    """State name of a task, or None if the task no longer exists (e.g. a deleted subprocess)."""
    try:
        task = workflow.get_task_from_id(UUID(spiff_task_id))
    except (ValueError, KeyError):
        return None
    return TaskState.get_name(task.state) if task is not None else None


def waiting_jobs(workflow: BpmnWorkflow) -> frozenset[str]:
    """The service tasks waiting for their worker (STARTED), by spiff task id: the only tasks that can have open
    job rows.

    A plain loop over the task dicts (every task of the workflow and its subprocesses; a superset of the tree's),
    not a tree scan: it runs on every load."""
    started, external = TaskState.STARTED, external_tasks.ExternalServiceTask
    return frozenset(str(task.id) for tasks in (workflow.tasks, *(sub.tasks for sub in workflow.subprocesses.values()))
                     for task in tasks.values() if task._state == started and isinstance(task.task_spec, external))


def complete_external_task(workflow: BpmnWorkflow, spiff_task_id: str, variables: dict[str, Any],
                           now: datetime) -> StepResult:
    """A worker's result: complete the STARTED service task with `variables`, then step the engine."""
    task = find_task(workflow, spiff_task_id)
    external_tasks.check_open(task)
    _run(now, lambda: external_tasks.complete(task, variables))
    result = advance(workflow, now)
    result.completed_elements.insert(0, task.task_spec.bpmn_id)
    return result


def throw_job_error(workflow: BpmnWorkflow, spiff_task_id: str, code: str, message: str,
                    variables: dict[str, Any], now: datetime) -> tuple[str, StepResult] | None:
    """A worker's BPMN error: route it to the error boundary of that service task (or of an enclosing
    subprocess) and step the engine. Returns (catcher bpmn id, result), or None when nothing catches it
    (the workflow is then unchanged)."""
    task = find_task(workflow, spiff_task_id)
    external_tasks.check_open(task)
    catcher = _run(now, lambda: external_tasks.throw_error(task, code, message, variables))
    if catcher is None:
        return None
    return catcher, advance(workflow, now)
