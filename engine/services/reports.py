"""Auditors' reports: accountability (who was late, who was deemed to approve) and caps (working days used).

Both read only history events and task rows, so they work for any process that follows the conventions:
- a **review** is a user task with the property `limit_committed_wd`; its department is the property
  `department`, else its first candidate group, else its lane; its committed due is the row's `due_at`;
- a **deemed approval** is the review's interrupting boundary timer firing (`timer:fired` of a timer attached to a
  review whose `silent_default` is not false: DESIGN.md §4), or a `task:deemed_approved` event (payload `bpmn_id`,
  and `department` or `candidate_groups`); both name the same approval, so per project and step the larger of the
  two counts is taken;
- **overdue** = a review completed after its committed due, or still open past it (cancelled ones are not);
- the **cap** of a project is the start variable `cap_wd`, else the process default (commercial 67, government
  investment 96 working days); working days count from the acceptance date of the start (a filing on a
  non-working day is accepted on the next working day) to the end (or now), less the working days the clock was
  paused (`clock:paused` / `clock:resumed` events; overlapping pauses count once);
- a **stage** is a subprocess directly inside the process: it starts when its first element runs and ends when
  the subprocess completes (both read from `instance:advanced` and `task:created` events).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import SHANGHAI, WorkCalendar, accepted_on
from engine.diagram.model import Semantics, parse_semantics
from engine.models import EventKind, HumanTask, HumanTaskStatus, InstanceEvent, ProcessDefinition, ProcessInstance
from engine.services.history import format_at

DEFAULT_CAPS = {"commercial_project": 67, "government_investment_project": 96}
CAP_VARIABLE = "cap_wd"
UNKNOWN = "—"


def _local_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _iso(at: datetime | None) -> str | None:
    return format_at(at) if at else None


def review_department(properties: dict[str, Any], candidate_groups: Sequence[str] | None,
                      lane: str | None) -> str:
    return str(properties.get("department") or (candidate_groups[0] if candidate_groups else None) or lane
               or UNKNOWN)


def is_review(properties: dict[str, Any] | None) -> bool:
    return bool((properties or {}).get("limit_committed_wd"))


# --- accountability ----------------------------------------------------------------------------------------------

@dataclass
class AccountabilityRow:
    department: str
    department_name: str
    step: str
    step_name: str
    reviews: int = 0
    on_time: int = 0
    overdue: int = 0
    deemed: int = 0
    projects: list[str] = field(default_factory=list)  # projects with an overdue or deemed review here, sorted

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AccountabilityReport:
    generated_at: str
    rows: list[AccountabilityRow]

    @property
    def deemed(self) -> int:
        return sum(r.deemed for r in self.rows)

    @property
    def overdue(self) -> int:
        return sum(r.overdue for r in self.rows)

    def by_department(self) -> dict[str, dict[str, int]]:
        totals: dict[str, dict[str, int]] = defaultdict(lambda: {"reviews": 0, "overdue": 0, "deemed": 0})
        for row in self.rows:
            for key in ("reviews", "overdue", "deemed"):
                totals[row.department][key] += getattr(row, key)
        return dict(totals)

    def to_json(self) -> dict[str, Any]:
        return {"generated_at": self.generated_at, "deemed": self.deemed, "overdue": self.overdue,
                "by_department": self.by_department(), "rows": [r.to_json() for r in self.rows]}


def accountability(session: Session, *, now: datetime, departments: dict[str, str]) -> AccountabilityReport:
    """Deemed approvals and overdue reviews by department and step, with the projects concerned."""
    instances = {i.id: i for i in session.scalars(select(ProcessInstance))}
    definitions = {d.id: d for d in session.scalars(select(ProcessDefinition))}
    rows: dict[tuple[str, str], AccountabilityRow] = {}

    def row(department: str, step: str, step_name: str | None) -> AccountabilityRow:
        key = (department, step)
        if key not in rows:
            rows[key] = AccountabilityRow(department, departments.get(department, department), step,
                                          step_name or step)
        return rows[key]

    def project(instance_id: str) -> str:
        instance = instances.get(instance_id)
        return (instance.business_key or instance.id) if instance else instance_id

    for task in session.scalars(select(HumanTask).order_by(HumanTask.created_at, HumanTask.id)):
        if not is_review(task.properties):
            continue
        entry = row(review_department(task.properties or {}, task.candidate_groups, task.lane), task.bpmn_id,
                    task.name)
        entry.reviews += 1
        late = task.due_at is not None and (
            (task.status == HumanTaskStatus.COMPLETED and task.completed_at is not None
             and task.completed_at > task.due_at)
            or (task.status == HumanTaskStatus.OPEN and now > task.due_at))
        if late:
            entry.overdue += 1
            _add_project(entry, project(task.instance_id))
        elif task.status == HumanTaskStatus.COMPLETED:
            entry.on_time += 1
    semantics: dict[int, Semantics] = {}
    for found in deemed_approvals(session, definitions, instances, semantics):
        info = _element(definitions, instances.get(found.instance_id), found.bpmn_id)
        department = found.department or review_department(info.get("properties") or {},
                                                            info.get("candidate_groups") or [], info.get("lane"))
        entry = row(department, found.bpmn_id, info.get("name"))
        entry.deemed += 1
        _add_project(entry, project(found.instance_id))
    for entry in rows.values():
        entry.projects.sort()
    order = {code: i for i, code in enumerate(departments)}
    ordered = sorted(rows.values(), key=lambda r: (order.get(r.department, len(order)), r.department, r.step))
    return AccountabilityReport(format_at(now), ordered)


@dataclass(frozen=True)
class Deemed:
    instance_id: str
    bpmn_id: str  # the review
    at: datetime
    department: str | None  # when the record names it
    task_id: str | None = None


def deemed_in(events: Sequence[InstanceEvent], semantics: Semantics, elements: dict[str, Any]) -> list[Deemed]:
    """One instance's deemed approvals, from its events (see the module docstring)."""
    by_timer: dict[str, list[Deemed]] = defaultdict(list)
    by_record: dict[str, list[Deemed]] = defaultdict(list)
    for event in events:
        payload = event.payload or {}
        bpmn_id = str(payload.get("bpmn_id") or "")
        if event.kind == EventKind.TIMER_FIRED and bpmn_id in semantics.timers:
            host, interrupting = semantics.boundary.get(bpmn_id, ("", False))
            properties = (elements.get(host) or {}).get("properties") or {}
            silent_default = str(properties.get("silent_default", "true")).strip().lower() != "false"
            if interrupting and is_review(properties) and silent_default:
                by_timer[host].append(Deemed(event.instance_id or "", host, event.at, None))
        elif event.kind == EventKind.TASK_DEEMED_APPROVED and bpmn_id:
            groups = payload.get("candidate_groups") or []
            department = payload.get("department") or (groups[0] if groups else None)
            by_record[bpmn_id].append(Deemed(event.instance_id or "", bpmn_id, event.at,
                                             str(department) if department else None, payload.get("task_id")))
    found = []
    for bpmn_id in sorted(set(by_timer) | set(by_record)):
        records, timers = by_record.get(bpmn_id, []), by_timer.get(bpmn_id, [])
        found.extend(records if len(records) >= len(timers) else timers)
    return sorted(found, key=lambda d: (d.at, d.bpmn_id))


def deemed_approvals(session: Session, definitions: dict[int, ProcessDefinition],
                     instances: dict[str, ProcessInstance], cache: dict[int, Semantics]) -> list[Deemed]:
    relevant = (EventKind.TIMER_FIRED, EventKind.TASK_DEEMED_APPROVED)
    events: dict[str, list[InstanceEvent]] = defaultdict(list)
    for event in session.scalars(select(InstanceEvent).where(InstanceEvent.kind.in_(relevant))
                                 .order_by(InstanceEvent.chain, InstanceEvent.seq)):
        events[event.chain].append(event)
    found = []
    for instance_id, chain in events.items():
        instance = instances.get(instance_id)
        if instance is None:
            continue
        definition = definitions[instance.definition_id]
        found.extend(deemed_in(chain, semantics_of(definition, cache), definition.elements or {}))
    return found


def semantics_of(definition: ProcessDefinition, cache: dict[int, Semantics]) -> Semantics:
    if definition.id not in cache:
        cache[definition.id] = parse_semantics(definition.source_xml.encode("utf-8"), file=definition.file_name)
    return cache[definition.id]


def _element(definitions: dict[int, ProcessDefinition], instance: ProcessInstance | None,
             bpmn_id: str) -> dict[str, Any]:
    definition = definitions.get(instance.definition_id) if instance else None
    return dict((definition.elements or {}).get(bpmn_id) or {}) if definition else {}


def _add_project(entry: AccountabilityRow, project: str) -> None:
    if project not in entry.projects:
        entry.projects.append(project)


# --- caps ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PauseOut:
    reason: str
    bpmn_id: str | None
    paused_at: str
    resumed_at: str | None


@dataclass(frozen=True)
class StageOut:
    stage: str
    name: str
    started_at: str | None
    ended_at: str | None
    working_days: int | None
    start_wd: int | None  # working days from acceptance to the stage's start (for the Gantt chart)


@dataclass
class CapRow:
    instance_id: str
    business_key: str | None
    process_key: str
    status: str
    accepted_on: str
    ended_at: str | None
    cap_wd: int | None
    used_wd: int
    paused_wd: int
    pauses: list[PauseOut] = field(default_factory=list)
    stages: list[StageOut] = field(default_factory=list)

    @property
    def remaining_wd(self) -> int | None:
        return None if self.cap_wd is None else self.cap_wd - self.used_wd

    @property
    def within_cap(self) -> bool | None:
        return None if self.cap_wd is None else self.used_wd <= self.cap_wd

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body.update(remaining_wd=self.remaining_wd, within_cap=self.within_cap)
        return body


class WorkingDayClock:
    """Working days between dates, less the paused days (pauses merged, so overlaps count once)."""

    def __init__(self, calendar: WorkCalendar, pauses: Iterable[tuple[date, date]]) -> None:
        self.calendar = calendar
        self.pauses = _merge(sorted(pauses))

    def elapsed(self, start: date, end: date) -> int:
        return self.calendar.working_days_between(start, end) - self.paused(start, end)

    def paused(self, start: date, end: date) -> int:
        total = 0
        for a, b in self.pauses:
            lo, hi = max(a, start), min(b, end)
            total += self.calendar.working_days_between(lo, hi)
        return total


def _merge(intervals: list[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _pauses(events: Sequence[InstanceEvent]) -> list[tuple[InstanceEvent, InstanceEvent | None]]:
    open_: dict[str, InstanceEvent] = {}
    pairs: list[tuple[InstanceEvent, InstanceEvent | None]] = []
    for event in events:
        key = str((event.payload or {}).get("task_id") or (event.payload or {}).get("bpmn_id") or "")
        if event.kind == EventKind.CLOCK_PAUSED:
            open_[key] = event
        elif event.kind == EventKind.CLOCK_RESUMED and key in open_:
            pairs.append((open_.pop(key), event))
    pairs.extend((event, None) for event in open_.values())
    return sorted(pairs, key=lambda p: p[0].seq)


def cap_of(instance: ProcessInstance, events: Sequence[InstanceEvent]) -> int | None:
    started = next((e for e in events if e.kind == EventKind.INSTANCE_STARTED), None)
    value = ((started.payload or {}).get("variables") or {}).get(CAP_VARIABLE) if started else None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return DEFAULT_CAPS.get(instance.process_key)


def cap_row(instance: ProcessInstance, definition: ProcessDefinition, events: Sequence[InstanceEvent],
            calendar: WorkCalendar, now: datetime, semantics: Semantics | None = None) -> CapRow:
    accepted = accepted_on(instance.started_at, calendar)
    end_at = instance.ended_at or now
    pairs = _pauses(events)
    clock = WorkingDayClock(calendar, [(_local_date(p.at), _local_date(r.at if r else end_at)) for p, r in pairs])
    end = _local_date(end_at)
    pauses = [PauseOut(str((p.payload or {}).get("reason") or ""), (p.payload or {}).get("bpmn_id"),
                       format_at(p.at), _iso(r.at) if r else None) for p, r in pairs]
    semantics = semantics or parse_semantics(definition.source_xml.encode("utf-8"), file=definition.file_name)
    return CapRow(
        instance_id=instance.id,
        business_key=instance.business_key,
        process_key=instance.process_key,
        status=instance.status,
        accepted_on=accepted.isoformat(),
        ended_at=_iso(instance.ended_at),
        cap_wd=cap_of(instance, events),
        used_wd=clock.elapsed(accepted, end),
        paused_wd=clock.paused(accepted, end),
        pauses=pauses,
        stages=_stages(semantics, events, clock, accepted, now),
    )


def _inside(semantics: Semantics, element: str, stage: str) -> bool:
    parent = semantics.parents.get(element)
    while parent:
        if parent == stage:
            return True
        parent = semantics.parents.get(parent)
    return False


def _stages(semantics: Semantics, events: Sequence[InstanceEvent], clock: WorkingDayClock, accepted: date,
            now: datetime) -> list[StageOut]:
    stages = []
    for stage in semantics.stages:
        started: datetime | None = None
        ended: datetime | None = None
        for event in events:
            payload = event.payload or {}
            touched = list(payload.get("elements") or []) if event.kind == EventKind.INSTANCE_ADVANCED else (
                [payload["bpmn_id"]] if event.kind == EventKind.TASK_CREATED and payload.get("bpmn_id") else [])
            if started is None and any(_inside(semantics, e, stage) for e in touched):
                started = event.at
            if stage in touched:
                ended = event.at  # the last completion counts (a stage re-entered by a return ends later)
        if started is None:
            stages.append(StageOut(stage, semantics.names.get(stage, stage), None, None, None, None))
            continue
        start_day = _local_date(started)
        stages.append(StageOut(
            stage, semantics.names.get(stage, stage), format_at(started), _iso(ended),
            clock.elapsed(start_day, _local_date(ended or now)), clock.elapsed(accepted, start_day)))
    return stages


def caps(session: Session, *, calendar: WorkCalendar, now: datetime, key: str | None = None) -> list[CapRow]:
    """One row per project (instance), oldest first."""
    query = select(ProcessInstance).order_by(ProcessInstance.started_at, ProcessInstance.id)
    if key:
        query = query.where(ProcessInstance.process_key == key)
    definitions = {d.id: d for d in session.scalars(select(ProcessDefinition))}
    semantics: dict[int, Semantics] = {}
    rows = []
    for instance in session.scalars(query):
        definition = definitions[instance.definition_id]
        events = session.scalars(select(InstanceEvent).where(InstanceEvent.chain == instance.id)
                                 .order_by(InstanceEvent.seq)).all()
        rows.append(cap_row(instance, definition, events, calendar, now, semantics_of(definition, semantics)))
    return rows
