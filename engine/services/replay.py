"""Replay: rebuild an instance from its history on its definition version and calendar data (DESIGN.md §3.4).

The recorded chain is cut into commands (a command kind starts one; so does a change of actor or time, which is
how a timer tick or a calendar load shows up). Each command is re-run in a private in-memory database (the
"scratch"), through the same services the engine used, with the recorded actor, time and inputs. The scratch
starts with a copy of the instance's definition row and receives the operator's calendar loads at the instants
they happened, so working-day due times come out as they did then.

Every event the re-run writes must equal the recorded one (kind, actor, time, payload with ids translated:
task, timer and job ids are random, so the first time an id appears its replay twin is bound to it). The first
event that differs is named. With `verify`, the rebuilt state is compared with the stored `state_json` in the
canonical, id-free form of `engine.bpmn.canonical`. Up to `until`, the scratch shows the instance as of then:
open tasks with their due dates, waiting timers and data.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from engine.bpmn import runtime
from engine.bpmn.canonical import canonical_state, first_difference
from engine.bpmn.serialization import load_workflow
from engine.db import Base
from engine.dto import TaskOut
from engine.errors import EngineError, InstanceNotFound, InvalidInput
from engine.models import (
    CalendarYear,
    HumanTask,
    HumanTaskStatus,
    InstanceEvent,
    ProcessDefinition,
    ProcessInstance,
    Timer,
    TimerStatus,
)
from engine.services.context import EngineContext
from engine.services.history import format_at, list_events
from engine.services.replay_kinds import REGISTRY, KindRegistry, ReplayStep

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SCRATCH_KEY = b"replay-scratch"  # the scratch chain is never verified; its hashes are not compared


class ReplayMismatch(Exception):
    def __init__(self, seq: int | None, kind: str | None, message: str) -> None:
        super().__init__(message)
        self.seq, self.kind, self.message = seq, kind, message


class IdMap:
    """Recorded id <-> replay id, bound on first sight and checked both ways afterwards."""

    def __init__(self) -> None:
        self._forward: dict[str, str] = {}
        self._backward: dict[str, str] = {}

    def bind(self, recorded: str, replayed: str) -> bool:
        if recorded in self._forward or replayed in self._backward:
            return self._forward.get(recorded) == replayed and self._backward.get(replayed) == recorded
        self._forward[recorded], self._backward[replayed] = replayed, recorded
        return True

    def forward(self, recorded: str) -> str:
        try:
            return self._forward[recorded]
        except KeyError:
            raise ReplayMismatch(None, None, f"the recorded id {recorded} never appeared in the replay") from None

    def backward(self, replayed: str) -> str:
        return self._backward.get(replayed, replayed)


class ScratchTemplate:
    """An empty schema built once per replay session, and one scratch database reset to it for each instance
    (SQLite backup API). Reusing the scratch engine keeps SQLAlchemy's compiled-statement cache warm."""

    def __init__(self) -> None:
        self._engine = create_engine("sqlite://", poolclass=StaticPool)
        Base.metadata.create_all(self._engine)
        self._connection: sqlite3.Connection = self._engine.raw_connection().driver_connection  # type: ignore[assignment]
        self._scratch_connection = sqlite3.connect(":memory:", check_same_thread=False)
        connection = self._scratch_connection
        db_engine = create_engine("sqlite://", creator=lambda: connection, poolclass=StaticPool)
        self._scratch = Scratch(db_engine, sessionmaker(bind=db_engine, expire_on_commit=False))

    def fresh(self) -> Scratch:
        """The scratch database, emptied back to the bare schema."""
        self._connection.backup(self._scratch_connection)
        return self._scratch

    def close(self) -> None:
        self._scratch.db_engine.dispose()
        self._scratch_connection.close()
        self._engine.dispose()


@dataclass
class Scratch:
    db_engine: Any
    sessions: sessionmaker[Session]


@dataclass(frozen=True)
class Difference:
    seq: int | None
    kind: str | None
    message: str

    def __str__(self) -> str:
        where = f"event #{self.seq} ({self.kind})" if self.seq is not None else "final state"
        return f"{where}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class AsOf:
    """The instance as the replay left it: after every command up to `seq`."""

    seq: int
    at: str | None
    status: str
    open_tasks: list[TaskOut]
    waiting_timers: list[dict[str, Any]]
    data: dict[str, Any]

    @property
    def active(self) -> list[str]:
        return [t.bpmn_id for t in self.open_tasks] + [t["bpmn_id"] for t in self.waiting_timers]

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "status": self.status,
                "open_tasks": [t.to_json() for t in self.open_tasks], "waiting_timers": self.waiting_timers,
                "data": self.data}


@dataclass
class ReplayReport:
    instance_id: str
    until: int  # last recorded event taken into account
    last_seq: int  # last event of the chain
    commands: int
    difference: Difference | None = None
    state_verified: bool = False
    as_of: AsOf | None = None

    @property
    def ok(self) -> bool:
        return self.difference is None

    def to_json(self) -> dict[str, Any]:
        return {"instance_id": self.instance_id, "until": self.until, "last_seq": self.last_seq,
                "commands": self.commands, "ok": self.ok, "state_verified": self.state_verified,
                "difference": self.difference.to_json() if self.difference else None,
                "as_of": self.as_of.to_json() if self.as_of else None}


@dataclass
class ReplayRun:
    """One instance's replay in progress: what handlers (engine/services/replay_kinds.py) work with."""

    instance_id: str  # the recorded instance
    ctx: EngineContext  # the scratch's context (own caches, shared spec cache)
    scratch: Scratch
    calendar_rows: list[CalendarYear]  # the real database's loads, oldest first
    ids: IdMap = field(default_factory=IdMap)
    scratch_instance_id: str | None = None
    accept_as_recorded: bool = False
    source: Session | None = None  # the real database, read only (a migration copies its target version)
    _loads_applied: int = 0

    def require_instance(self) -> str:
        if self.scratch_instance_id is None:
            raise ReplayMismatch(None, None, "the history does not start with instance:started")
        return self.scratch_instance_id

    def apply_calendar_loads(self, until: datetime, *, inclusive: bool) -> None:
        """Load into the scratch every schedule the operator had loaded by `until`, each at its own instant."""
        from engine.services import calendars

        while self._loads_applied < len(self.calendar_rows):
            row = self.calendar_rows[self._loads_applied]
            if row.loaded_at > until or (row.loaded_at == until and not inclusive):
                return
            schedule = calendars.schedule_of(row)
            with self.scratch.sessions.begin() as session:
                calendars.load_year(session, self.ctx, schedule, actor=row.loaded_by, now=row.loaded_at)
            self._loads_applied += 1


def _started_on(events: Sequence[InstanceEvent]) -> int | None:
    """The definition id an instance started on (`instance:started`), if its history begins there."""
    payload = (events[0].payload or {}) if events and events[0].kind == "instance:started" else {}
    definition_id = payload.get("definition_id")
    return definition_id if isinstance(definition_id, int) and not isinstance(definition_id, bool) else None


def _segments(events: Sequence[InstanceEvent], registry: KindRegistry) -> list[list[InstanceEvent]]:
    """Cut the chain into commands: at each command kind, and where the actor or the time changes."""
    segments: list[list[InstanceEvent]] = []
    for event in events:
        if event.kind in registry.noted:
            continue
        previous = segments[-1][-1] if segments else None
        if (previous is None or event.kind in registry.commands
                or (event.actor, event.at) != (previous.actor, previous.at)):
            segments.append([event])
        else:
            segments[-1].append(event)
    return segments


def _command_event(segment: list[InstanceEvent], registry: KindRegistry) -> InstanceEvent:
    """The event that names the command: its input, else the first implicit kind in registration order (a tick's
    `timer:fired` wins over the `timer:rescheduled` a pause ending in that tick also writes)."""
    if segment[0].kind in registry.commands:
        return segment[0]
    for kind in registry.implicit:
        for event in segment:
            if event.kind == kind:
                return event
    kinds = ", ".join(dict.fromkeys(e.kind for e in segment))
    raise ReplayMismatch(segment[0].seq, segment[0].kind,
                         f"no command explains these events ({kinds}): no replay handler for any of their kinds")


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, ensure_ascii=False, default=str))


def _same(recorded: Any, replayed: Any, ids: IdMap) -> bool:
    """Equal JSON values, where a uuid string on one side must be the bound twin of the other."""
    if isinstance(recorded, str) and recorded == replayed:
        # The very same uuid on both sides was fed in, not generated (replay's own ids are fresh): e.g. a
        # worker's result that names its job id (issue 13). Binding it to itself would clash with its twin.
        return True
    if isinstance(recorded, str) and isinstance(replayed, str) and UUID_RE.match(recorded) and UUID_RE.match(replayed):
        return ids.bind(recorded, replayed)
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        return recorded.keys() == replayed.keys() and all(_same(recorded[k], replayed[k], ids) for k in recorded)
    if isinstance(recorded, list) and isinstance(replayed, list):
        return len(recorded) == len(replayed) and all(_same(a, b, ids) for a, b in zip(recorded, replayed))
    return bool(recorded == replayed)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def _compare(segment: list[InstanceEvent], produced: list[InstanceEvent], ids: IdMap,
             registry: KindRegistry) -> None:
    recorded = [e for e in segment if e.kind not in registry.noted]
    replayed = [e for e in produced if e.kind not in registry.noted]
    for want, got in zip(recorded, replayed):
        if want.kind != got.kind:
            raise ReplayMismatch(want.seq, want.kind, f"replay wrote {got.kind} here instead")
        if want.actor != got.actor or format_at(want.at) != format_at(got.at):
            raise ReplayMismatch(want.seq, want.kind, f"replay wrote it as {got.actor} at {format_at(got.at)}")
        if not _same(_plain(want.payload), _plain(got.payload), ids):
            raise ReplayMismatch(want.seq, want.kind, f"payload differs: recorded {_short(want.payload)}, "
                                                      f"replayed {_short(got.payload)}")
    if len(recorded) > len(replayed):
        missing = recorded[len(replayed)]
        raise ReplayMismatch(missing.seq, missing.kind, "replay did not write this event")
    if len(replayed) > len(recorded):
        extra = replayed[len(recorded)]
        last = recorded[-1] if recorded else segment[-1]
        raise ReplayMismatch(last.seq, last.kind, f"replay wrote an extra {extra.kind} event after it: "
                                                  f"{_short(extra.payload)}")


class Replayer:
    """Replays instances of one database. Holds the scratch template; close it when done."""

    def __init__(self, session: Session, ctx: EngineContext, *, registry: KindRegistry = REGISTRY) -> None:
        self.session, self.ctx, self.registry = session, ctx, registry
        self._template: ScratchTemplate | None = None
        self._calendar_rows = list(session.scalars(select(CalendarYear).order_by(CalendarYear.loaded_at,
                                                                                 CalendarYear.id)))

    def __enter__(self) -> Replayer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._template is not None:
            self._template.close()
            self._template = None

    def replay(self, instance_id: str, *, until: int | None = None, verify: bool = False) -> ReplayReport:
        instance = self.session.get(ProcessInstance, instance_id)
        if instance is None:
            raise InstanceNotFound(f"no process instance {instance_id}")
        events = list(list_events(self.session, instance_id))
        last_seq = events[-1].seq if events else 0
        if until is not None and (until < 1 or until > last_seq):
            raise InvalidInput(f"--until must be between 1 and {last_seq} (the instance's last event)")
        if verify and until is not None and until != last_seq:
            raise InvalidInput("--verify compares the whole history with the stored state: leave out --until")
        target = until if until is not None else last_seq
        if self._template is None:
            self._template = ScratchTemplate()
        scratch = self._template.fresh()
        run = self._new_run(instance, scratch, _started_on(events))
        report = ReplayReport(instance_id, target, last_seq, commands=0)
        try:
            for segment in _segments(events, self.registry):
                if segment[0].seq > target:
                    break
                self._apply(run, segment)
                report.commands += 1
            if verify:
                self._verify_state(run, instance, last_seq)
                report.state_verified = True
        except ReplayMismatch as exc:
            report.difference = Difference(exc.seq, exc.kind, exc.message)
        report.as_of = self._as_of(run, events, target)
        return report

    def replay_all(self, *, verify: bool = True, key: str | None = None) -> Iterable[ReplayReport]:
        query = select(ProcessInstance.id).order_by(ProcessInstance.started_at, ProcessInstance.id)
        if key:
            query = query.where(ProcessInstance.process_key == key)
        for instance_id in list(self.session.scalars(query)):
            yield self.replay(instance_id, verify=verify)

    def _new_run(self, instance: ProcessInstance, scratch: Scratch, started_on: int | None = None) -> ReplayRun:
        # A migrated instance runs on another version than it started on: the scratch starts with that one.
        definition = self.session.get(ProcessDefinition, started_on or instance.definition_id)
        assert definition is not None  # FK
        with scratch.sessions.begin() as session:
            columns = {c.key: getattr(definition, c.key) for c in ProcessDefinition.__table__.columns}
            session.add(ProcessDefinition(**columns))
        # Own caches and signals; the parsed spec of a definition version is immutable, so share that cache.
        ctx = EngineContext(settings=self.ctx.settings, hmac_key=SCRATCH_KEY, specs=self.ctx.specs)
        return ReplayRun(instance.id, ctx, scratch, self._calendar_rows, source=self.session)

    def _apply(self, run: ReplayRun, segment: list[InstanceEvent]) -> None:
        event = _command_event(segment, self.registry)
        handler = self.registry.commands.get(event.kind) or self.registry.implicit[event.kind]
        run.apply_calendar_loads(segment[0].at, inclusive=False)
        before = self._scratch_seq(run)
        try:
            handler(ReplayStep(run, segment, event))
        except ReplayMismatch as exc:
            raise ReplayMismatch(exc.seq or event.seq, exc.kind or event.kind, exc.message) from None
        except EngineError as exc:
            raise ReplayMismatch(event.seq, event.kind, f"re-running it failed: {exc.detail}") from exc
        if run.accept_as_recorded:
            run.accept_as_recorded = False
            return
        _compare(segment, self._scratch_events(run, after=before), run.ids, self.registry)

    def _scratch_seq(self, run: ReplayRun) -> int:
        if run.scratch_instance_id is None:
            return 0
        with run.scratch.sessions() as session:
            return len(list_events(session, run.scratch_instance_id))

    def _scratch_events(self, run: ReplayRun, *, after: int) -> list[InstanceEvent]:
        if run.scratch_instance_id is None:
            return []
        with run.scratch.sessions() as session:
            return list(list_events(session, run.scratch_instance_id, after_seq=after))

    def _verify_state(self, run: ReplayRun, instance: ProcessInstance, last_seq: int) -> None:
        scratch_id = run.require_instance()
        with run.scratch.sessions() as session:
            replayed = session.get(ProcessInstance, scratch_id)
            assert replayed is not None
            replayed_state, replayed_status = replayed.state_json, replayed.status
        if replayed_status != instance.status:
            raise ReplayMismatch(None, None, f"status stored {instance.status}, replayed {replayed_status}")
        definition = self.session.get(ProcessDefinition, instance.definition_id)
        assert definition is not None  # FK
        parsed = self.ctx.specs.get(definition)
        stored = canonical_state(load_workflow(instance.state_json, parsed.spec, parsed.subprocess_specs))
        rebuilt = canonical_state(load_workflow(replayed_state, parsed.spec, parsed.subprocess_specs))
        where = first_difference(stored, rebuilt)
        if where:
            raise ReplayMismatch(None, None, f"after all {last_seq} events the stored state differs from the "
                                             f"replay at {where}")

    def _as_of(self, run: ReplayRun, events: Sequence[InstanceEvent], target: int) -> AsOf | None:
        if run.scratch_instance_id is None:
            return None
        at = next((format_at(e.at) for e in reversed(events) if e.seq <= target), None)
        with run.scratch.sessions() as session:
            instance = session.get(ProcessInstance, run.scratch_instance_id)
            assert instance is not None
            definition = session.get(ProcessDefinition, instance.definition_id)
            assert definition is not None
            parsed = self.ctx.specs.get(definition)
            workflow = load_workflow(instance.state_json, parsed.spec, parsed.subprocess_specs)
            tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id,
                                                            HumanTask.status == HumanTaskStatus.OPEN)
                                    .order_by(HumanTask.created_at, HumanTask.id)).all()
            open_tasks = [replace(TaskOut.from_model(t), id=run.ids.backward(t.id), instance_id=run.instance_id)
                          for t in tasks]
            timers = session.scalars(select(Timer).where(Timer.instance_id == instance.id,
                                                         Timer.status == TimerStatus.WAITING)
                                     .order_by(Timer.due_at, Timer.bpmn_id)).all()
            waiting = [{"timer_id": run.ids.backward(t.id), "bpmn_id": t.bpmn_id,
                        "due_at": format_at(t.due_at) if t.due_at else None} for t in timers]
            return AsOf(target, at, instance.status, open_tasks, waiting, _plain(runtime.workflow_data(workflow)))
