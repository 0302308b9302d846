"""The command path's shared steps: lock and load an instance, then persist what the engine did.

lock -> load -> (caller re-checks its target and applies) -> engine steps -> sync human_tasks, timers and jobs
-> events -> save. All inside the caller's transaction (DESIGN.md §2).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from operator import attrgetter, is_not
from typing import Any, NamedTuple, TypeVar

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session, defer

from engine.bpmn import runtime
from engine.bpmn.parsing import ParsedProcess
from engine.bpmn.serialization import SERIALIZER_VERSION, dump_workflow, load_workflow
from engine.errors import InstanceNotFound
from engine.models import (
    EventKind,
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    ProcessDefinition,
    ProcessInstance,
    Timer,
    TimerStatus,
)
from engine.services import calendars, core_rows, event_batch, history, job_rows, pauses, sla, timer_rows
from engine.services.context import EngineContext
from engine.services.workflow_cache import command_clock


class OpenRow(NamedTuple):
    """An open task row as persist needs it: its id, pause reason, and the query's order (created_at, bpmn_id)."""

    row_id: str
    pausing: str | None
    created_at: datetime
    bpmn_id: str


OpenRows = dict[str, OpenRow]  # by spiff task id
_ORDER = attrgetter("created_at", "bpmn_id")  # _OPEN_TASKS's order


class WaitingRow(NamedTuple):
    """A waiting timer row as the timers' sync compares and records it: `_WAITING_TIMERS`'s columns."""

    id: str
    spiff_task_id: str
    bpmn_id: str
    due_at: datetime | None
    calendar: str
    provisional: bool
    pausable: bool
    paused_on: date | None
    basis: dict[str, Any] | None


WaitingRows = dict[str, WaitingRow]  # by spiff task id
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _timer_order(row: WaitingRow) -> tuple[bool, datetime, str]:
    """`_WAITING_TIMERS`'s order: due_at with NULLs first, then bpmn_id."""
    return row.due_at is not None, row.due_at or _EPOCH, row.bpmn_id


class KeptRows(NamedTuple):
    """The rows a command's persist left, kept on the workflow it gives back to the cache (`_KEPT_ROWS`)."""

    open_tasks: OpenRows
    waiting_timers: WaitingRows


@dataclass
class Loaded:
    instance: ProcessInstance
    definition: ProcessDefinition | None  # None when the spec came from the cache (the row was not read)
    parsed: ParsedProcess
    workflow: BpmnWorkflow
    # Spiff stamps state changes with time.time(): what changed after this is checked before caching.
    changed_since: float = field(default_factory=command_clock)
    # The service tasks waiting for their worker (STARTED) in the stored state, by spiff task id; None: unknown.
    # Open job rows only exist for such tasks (persist cancels the others, terminate all), so when none waited
    # but those whose rows the command closed (`closed_jobs`: a worker's completion), persist does not read them.
    waiting_jobs: frozenset[str] | None = None
    closed_jobs: set[str] = field(default_factory=set)
    # Task rows the command closed before persist (a clerk's completion): with the open rows, what may have had
    # an open clock pause (pauses.sync skips its read when none of them, nor a new task, pauses the clock).
    closed_tasks: list[HumanTask] = field(default_factory=list)
    # An instance inserted by this transaction (start): it has no task, timer or job rows to read yet.
    new: bool = False
    # The instance's open task rows and waiting timer rows as the command that left `workflow` in the cache wrote
    # them; None: read them. See `_KEPT_ROWS`.
    open_rows: OpenRows | None = None
    waiting_timers: WaitingRows | None = None


def lock_instance(session: Session, instance_id: str) -> ProcessInstance:
    """Row lock on PostgreSQL (SQLite already holds the writer lock via BEGIN IMMEDIATE); fresh state."""
    row = _LOCKED_INSTANCE.load(session, {"instance_id": instance_id})
    if row is None:
        raise InstanceNotFound(f"no process instance {instance_id}")
    return row[0]


# Built once, values bound per call: building the statement costs ~0.1 ms, more than running it here. A command
# that starts from a task or job row locks the instance and that row in one statement (human_tasks, jobs).
_LOCKED_INSTANCE = core_rows.LockedRead((ProcessInstance,), ProcessInstance.__table__,
                                       ProcessInstance.__table__.c.id == bindparam("instance_id"),
                                       head=event_batch.known_head)


def load(session: Session, ctx: EngineContext, instance: ProcessInstance) -> Loaded:
    # A deployed version is immutable: with its spec cached the definition row is not read at all; otherwise
    # without the BPMN source (~300 KB for the approval processes) and forms, read only by the parse.
    definition = None
    parsed = ctx.specs.cached(instance.definition_id)
    if parsed is None:
        definition = session.get(ProcessDefinition, instance.definition_id,
                                 options=[defer(ProcessDefinition.source_xml), defer(ProcessDefinition.forms)])
        assert definition is not None  # FK
        parsed = ctx.specs.get(definition)
    workflow = ctx.workflows.take(instance)  # the object the last command left, if it is exactly this state
    kept = None
    if workflow is None:
        workflow = load_workflow(instance.state_json, parsed.spec, parsed.subprocess_specs)
    else:
        kept = workflow.__dict__.pop(_KEPT_ROWS, None)
    runtime.bind_calendar(workflow, calendars.lazy(session, ctx))  # timers count with the loaded schedules
    return Loaded(instance, definition, parsed, workflow, waiting_jobs=runtime.waiting_jobs(workflow),
                  open_rows=kept.open_tasks if kept else None, waiting_timers=kept.waiting_timers if kept else None)


# The open task rows and waiting timer rows a command's persist left, kept on the workflow object it gives back to
# the cache: the next command that takes that object from the cache (the instance's version and state unchanged
# since, so no other command ran on it) knows them without reading them (issue 14: both reads grew with a
# fan-out's open branches, ~3 us per row). Only `persist` writes task rows' status (a clerk's completion closes
# its row before and lists it in `Loaded.closed_tasks`) and waiting timer rows; terminating or migrating an
# instance changes its rows otherwise, and neither hands the map on (terminate gives no workflow back; a migration
# persists a new `Loaded`); a timer's incident bumps the instance's version (services/timers.py). With
# APPROVALS_CHECK_DUMPS=1 (the test suite) every use is compared with the rows read.
_KEPT_ROWS = "_engine_kept_rows"


class KnownRowsMismatch(AssertionError):
    """Rows persist knew without reading them differ from the table (only with APPROVALS_CHECK_DUMPS=1)."""


def _checking() -> bool:
    return os.environ.get("APPROVALS_CHECK_DUMPS") == "1"


Rows = TypeVar("Rows", OpenRows, WaitingRows)


def _kept_or_read(instance: ProcessInstance, new: bool, known: Rows | None, read: Callable[[], Rows],
                  same: Callable[[Rows, Rows], bool], what: str) -> Rows:
    """An instance's rows: none if this transaction inserted it, else `known` (kept with the cached workflow) or
    `read()`; with APPROVALS_CHECK_DUMPS=1, `known` is read anyway and must be the `same` as what the read gives."""
    if new:
        return {}
    if known is None:
        return read()
    if _checking():
        rows = read()
        if not same(rows, known):
            raise KnownRowsMismatch(f"instance {instance.id}: kept {what} {known}, read {rows}")
    return known


def _same_open_rows(read: OpenRows, known: OpenRows) -> bool:
    # The order too (the cancellations' events follow it), as far as the query defines it.
    return read == known and list(map(_ORDER, read.values())) == list(map(_ORDER, known.values()))


def _same_waiting_rows(read: WaitingRows, known: WaitingRows) -> bool:
    # As written (repr: a due in another time zone would be equal, yet recorded otherwise), and in order as far as
    # the query defines it (the events follow it).
    return (repr(sorted(read.items())) == repr(sorted(known.items()))
            and list(map(_timer_order, read.values())) == list(map(_timer_order, known.values())))


def record(session: Session, ctx: EngineContext, instance_id: str | None, kind: str, *, actor: str,
           now: datetime, payload: dict[str, Any] | None = None) -> None:
    history.record(session, hmac_key=ctx.hmac_key, instance_id=instance_id, kind=kind, actor=actor, at=now,
                   payload=payload)


def persist(session: Session, ctx: EngineContext, loaded: Loaded, result: runtime.StepResult, *, actor: str,
            now: datetime) -> None:
    """Sync derived rows with the engine's state, append events, save the state (bumps lock_version)."""
    instance, parsed, workflow = loaded.instance, loaded.parsed, loaded.workflow
    if result.completed_elements:
        record(session, ctx, instance.id, EventKind.INSTANCE_ADVANCED, actor=actor, now=now,
               payload={"elements": result.completed_elements})
    open_tasks, paused_before, open_rows = _sync_human_tasks(session, ctx, instance, parsed, result, actor=actor,
                                                             now=now, new=loaded.new, known=_known_open_rows(loaded))
    # An open clock pause belongs to a task that was open and pausing at the last persist (pauses.sync opens and
    # closes them; the instance lock serializes commands): if no such task, closed or open, and no task pausing
    # now, there is nothing to open, close, freeze or thaw, and its read is skipped.
    if paused_before or any(sla.pauses_clock(t) for t in [*loaded.closed_tasks, *open_tasks]):
        result = pauses.sync(session, ctx, loaded, result, actor=actor, now=now, open_tasks=open_tasks)
    waiting = _sync_timers(session, ctx, instance, workflow, result, actor=actor, now=now, new=loaded.new,
                           known=loaded.waiting_timers)
    waiting_jobs = None if loaded.waiting_jobs is None else loaded.waiting_jobs - loaded.closed_jobs
    if waiting_jobs is None or waiting_jobs or result.job_requests:
        none_open = loaded.new or waiting_jobs == frozenset()
        if none_open and not loaded.new and _checking() and job_rows.read_open(session, instance):
            raise KnownRowsMismatch(f"instance {instance.id}: open job rows of no waiting service task")
        job_rows.sync(session, ctx, instance, workflow, result, actor=actor, now=now, none_open=none_open)
    values: dict[str, Any] = {}
    if result.done and instance.status not in (InstanceStatus.COMPLETED, InstanceStatus.TERMINATED):
        values.update(status=InstanceStatus.COMPLETED, ended_at=now)
        record(session, ctx, instance.id, EventKind.INSTANCE_COMPLETED, actor=actor, now=now,
               payload={"variables": runtime.workflow_data(workflow)})
    values.update(state_json=dump_workflow(workflow), updated_at=now)
    if instance.serializer_version != SERIALIZER_VERSION:
        values["serializer_version"] = SERIALIZER_VERSION
    if inspect(instance).persistent:  # with the instance's own pending ORM changes, if any (a migration's)
        core_rows.save_instance(session, instance, values)
    else:  # added by this transaction and not flushed yet
        for key, value in values.items():
            setattr(instance, key, value)
    session.flush()  # what callers changed through the ORM (usually nothing)
    history.write_pending(session)  # the command's events: one INSERT (services/event_batch.py)
    workflow.__dict__[_KEPT_ROWS] = KeptRows(open_rows, waiting)
    ctx.workflows.give_back_after_commit(session, instance, workflow, loaded.changed_since)


def _known_open_rows(loaded: Loaded) -> OpenRows | None:
    """The open task rows without reading them, if the cached workflow carried them: minus the rows this command
    closed before persist."""
    if loaded.open_rows is None:
        return None
    closed = {row.id for row in loaded.closed_tasks}
    return {spiff_id: row for spiff_id, row in loaded.open_rows.items() if row.row_id not in closed}


def _deemed_approved(row: HumanTask, now: datetime) -> bool:
    """超时默认: a review task with the silent default, closed by the engine at or after its committed deadline.

    Only its interrupting deadline timer closes a review then (a clerk's completion is not a cancellation, and a
    late completion loses to the deadline), so this names the deemed approval without knowing the BPMN shape."""
    properties = row.properties or {}
    if "limit_committed_wd" not in properties or row.due_at is None:
        return False
    if str(properties.get("silent_default", "true")).strip().lower() in {"false", "0", "no"}:
        return False
    return now >= row.due_at


_OPEN_TASKS = (
    select(HumanTask.id, HumanTask.spiff_task_id, HumanTask.properties, HumanTask.created_at, HumanTask.bpmn_id)
    .where(HumanTask.instance_id == bindparam("instance_id"), HumanTask.status == HumanTaskStatus.OPEN)
    .order_by(HumanTask.created_at, HumanTask.bpmn_id)  # events in the same order on replay (issue 13)
)


_TASK_COLUMNS = tuple(HumanTask.__table__.columns.keys())
_TASK_CLASS = HumanTask.__mapper__.class_manager


def _transient_task(values: dict[str, Any]) -> HumanTask:
    """A new task row as a transient HumanTask holding `values` (every column), as `HumanTask(**values)` would,
    without the declarative constructor's per-attribute set events: ~2.5 us instead of ~40 (issue 14: 9 new review
    tasks are ~4% of the intake job's completion). It is read (limits, pauses, events) and its columns inserted
    by core_rows; it never enters the session."""
    row: HumanTask = _TASK_CLASS.new_instance()
    row.__dict__.update(values)
    return row


def _read_open_rows(session: Session, instance: ProcessInstance) -> OpenRows:
    # Ids and properties only: a wide fan-out has dozens of open rows and a command changes one or two, so only
    # those (and the open ones that pause the clock) are loaded as objects; each row's pause reason is asked once.
    return {spiff_id: OpenRow(row_id, sla.pause_reason(properties), created_at, bpmn_id)
            for row_id, spiff_id, properties, created_at, bpmn_id in core_rows.read(
                session, _OPEN_TASKS, {"instance_id": instance.id})}


def _task_row(session: Session, row_id: str) -> HumanTask:
    row = core_rows.get(session, HumanTask, row_id)
    if row is None:  # as `session.get_one`
        raise NoResultFound(f"no human task row {row_id}")
    return row  # type: ignore[no-any-return]


def _sync_human_tasks(session: Session, ctx: EngineContext, instance: ProcessInstance, parsed: ParsedProcess,
                      result: runtime.StepResult, *, actor: str, now: datetime, new: bool = False,
                      known: OpenRows | None = None) -> tuple[list[HumanTask], bool, OpenRows]:
    """Open a row per new ready user task, cancel rows whose task is gone; returns what pauses.sync needs: the
    new rows and the open rows that pause the instance's clock, and whether any row open before did; and the open
    rows afterwards (`_KEPT_ROWS`). `known`: the open rows, not read."""
    open_rows = _kept_or_read(instance, new, known, lambda: _read_open_rows(session, instance), _same_open_rows,
                              "open tasks")
    after = dict(open_rows)
    ready = {t.spiff_task_id: t for t in result.human_tasks}
    still_open = [_task_row(session, row.row_id) for spiff_id, row in open_rows.items()
                  if spiff_id in ready and row.pausing]
    calendar = calendars.current(session, ctx) if ready.keys() - open_rows.keys() else None
    for spiff_id, open_row in open_rows.items():
        if spiff_id not in ready:
            # Gone without a clerk's completion: cancelled by a timer, an error path or termination.
            row = _task_row(session, open_row.row_id)
            core_rows.update_object(session, row, {"status": HumanTaskStatus.CANCELLED, "completed_at": now})
            del after[spiff_id]
            record(session, ctx, instance.id, EventKind.TASK_CANCELLED, actor=actor, now=now,
                   payload={"task_id": row.id, "bpmn_id": row.bpmn_id})
            if _deemed_approved(row, now):
                record(session, ctx, instance.id, EventKind.TASK_DEEMED_APPROVED, actor=actor, now=now,
                       payload={"task_id": row.id, "bpmn_id": row.bpmn_id, "due_at": row.due_at,
                                "department": row.properties.get("department")
                                or next(iter(row.candidate_groups or []), None)})
    inserts = []
    for spiff_id, task in ready.items():
        if spiff_id in open_rows:
            continue
        info = parsed.elements.get(task.bpmn_id)
        row = _transient_task(dict(  # not added to the session: inserted below with the step's other new rows
            id=str(uuid.uuid4()),
            instance_id=instance.id,
            spiff_task_id=spiff_id,
            bpmn_id=task.bpmn_id,
            name=task.name,
            form_key=info.form if info else None,
            lane=info.lane if info else None,
            candidate_groups=list(info.candidate_groups) if info else [],
            properties=dict(info.properties) if info else {},
            assignee=info.assignee if info else None,  # camunda:assignee
            status=HumanTaskStatus.OPEN,
            created_at=now,
            due_at=None,
            statutory_due_at=None,
            paused_on=None,
            paused_wd=0,
            completed_at=None,
            completed_by=None,
        ))
        assert calendar is not None
        sla.apply_limits(row, calendar)  # review tasks: committed and statutory dues
        inserts.append({column: getattr(row, column) for column in _TASK_COLUMNS})
        after[spiff_id] = OpenRow(row.id, sla.pause_reason(row.properties), row.created_at, row.bpmn_id)
        still_open.append(row)
        record(session, ctx, instance.id, EventKind.TASK_CREATED, actor=actor, now=now,
               payload={"task_id": row.id, "bpmn_id": row.bpmn_id, "candidate_groups": row.candidate_groups})
    core_rows.insert_rows(session, HumanTask, inserts)
    if inserts:  # in the query's order (a stable sort: rows of the same instant and element as inserted)
        after = dict(sorted(after.items(), key=lambda item: _ORDER(item[1])))
    return still_open, any(row.pausing for row in open_rows.values()), after


_WAITING_TIMERS = (
    # The columns the sync compares and records, not Timer objects (rows changed are written by core_rows).
    select(Timer.id, Timer.spiff_task_id, Timer.bpmn_id, *timer_rows.MIRRORED)
    .where(Timer.instance_id == bindparam("instance_id"), Timer.status == TimerStatus.WAITING)
    # Timers that fire in one step are recorded in due order, whatever plan the database picks, so replay
    # writes them in the same order (issue 13: a crash campaign found the order varying with the plan).
    .order_by(Timer.due_at.nulls_first(), Timer.bpmn_id)
)


def _read_waiting_timers(session: Session, instance: ProcessInstance) -> WaitingRows:
    return {row.spiff_task_id: WaitingRow(*row)
            for row in core_rows.read(session, _WAITING_TIMERS, {"instance_id": instance.id})}


def _as_read(values: dict[str, Any]) -> dict[str, Any]:
    """Mirrored values as a read of the row gives them back: the due in UTC, the basis a JSON copy (the timer's
    own dict changes in place)."""
    values = dict(values)
    due, basis = values.get("due_at"), values.get("basis")
    if due is not None:
        values["due_at"] = due.astimezone(UTC)
    if basis is not None:
        values["basis"] = json.loads(json.dumps(basis))
    return values


def _sync_timers(session: Session, ctx: EngineContext, instance: ProcessInstance, workflow: BpmnWorkflow,
                 result: runtime.StepResult, *, actor: str, now: datetime, new: bool = False,
                 known: WaitingRows | None = None) -> WaitingRows:
    """Mirror the waiting timers in rows: update, fire or cancel the waiting rows, insert the new; returns the
    waiting rows afterwards (`_KEPT_ROWS`). `known`: the waiting rows, not read."""
    waiting_rows = _kept_or_read(instance, new, known, lambda: _read_waiting_timers(session, instance),
                                 _same_waiting_rows, "waiting timers")
    waiting = {t.spiff_task_id: t for t in result.timers}
    after: list[WaitingRow] = []
    for spiff_id, row in waiting_rows.items():
        if spiff_id in waiting:
            timer = waiting[spiff_id]
            if timer.cycle and row.due_at is not None and row.due_at <= now and timer.due_at != row.due_at:
                # A cycle timer fired one period and waits for the next: the same row, a new due.
                timer_rows.fired(session, row.due_at, now)
                record(session, ctx, instance.id, EventKind.TIMER_FIRED, actor=actor, now=now,
                       payload={"timer_id": row.id, "bpmn_id": row.bpmn_id, "due_at": row.due_at, "cycle": True})
            changes = timer_rows.changes(row, timer)
            core_rows.update_row(session, Timer, row.id, changes)
            after.append(row._replace(**_as_read(changes)) if changes else row)
            continue
        fired = runtime.task_state(workflow, spiff_id) == "COMPLETED"
        if fired:
            timer_rows.fired(session, row.due_at, now)
            core_rows.update_row(session, Timer, row.id, {"status": TimerStatus.FIRED, "fired_at": now})
        else:
            core_rows.update_row(session, Timer, row.id, {"status": TimerStatus.CANCELLED})
        kind = EventKind.TIMER_FIRED if fired else EventKind.TIMER_CANCELLED
        payload: dict[str, Any] = {"timer_id": row.id, "bpmn_id": row.bpmn_id, "due_at": row.due_at}
        record(session, ctx, instance.id, kind, actor=actor, now=now, payload=payload)
    inserts = []
    for spiff_id, timer in waiting.items():
        if spiff_id in waiting_rows:
            continue
        timer_id = str(uuid.uuid4())
        values = timer_rows.mirrored(timer)
        inserts.append({"id": timer_id, "instance_id": instance.id, "spiff_task_id": spiff_id,
                        "bpmn_id": timer.bpmn_id, "status": TimerStatus.WAITING, "created_at": now, "fired_at": None,
                        **values})
        after.append(WaitingRow(timer_id, spiff_id, timer.bpmn_id, **_as_read(values)))
        record(session, ctx, instance.id, EventKind.TIMER_SCHEDULED, actor=actor, now=now,
               payload={"timer_id": timer_id, "bpmn_id": timer.bpmn_id, "due_at": timer.due_at,
                        "calendar": timer.calendar, "provisional": timer.provisional})
    core_rows.insert_rows(session, Timer, inserts)
    if inserts or len(after) != len(waiting_rows) or any(map(is_not, after, waiting_rows.values())):
        after.sort(key=_timer_order)  # stable: rows of the same due and element keep the read's order
    return {row.spiff_task_id: row for row in after}
