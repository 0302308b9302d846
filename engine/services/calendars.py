"""The working-day calendar as the engine uses it: packaged data and the provisional rule, overridden by the
schedules an operator loaded into the database (`calendar_years`, highest version per year).

`CalendarCache` (app-owned, in `EngineContext`) rebuilds the `WorkCalendar` only when the loaded rows change; the
check is one small query per command. Loading a year (`load_year`) recomputes the due times of waiting
working-day timers and open review tasks, and flags timers that already fired earlier than the new schedule
allows (DESIGN.md §3.5): flagged, never reversed.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Row, and_, or_, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime, timer_ops
from engine.bpmn.timer_values import WORKDAY, Basis, workday_due
from engine.calendar import SHANGHAI, WorkCalendar, WorkdayResult, YearSchedule, YearSummary
from engine.errors import InvalidSchedule
from engine.models import CalendarYear, EventKind, HumanTask, HumanTaskStatus, InstanceStatus, Timer, TimerStatus
from engine.services import core_rows

if TYPE_CHECKING:
    from engine.services.context import EngineContext



def _digest(holidays: dict[str, Any], workdays: dict[str, Any]) -> str:
    text = json.dumps([holidays, workdays], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def schedule_of(row: CalendarYear | Row[Any]) -> YearSchedule:
    """The schedule of a loaded year (a CalendarYear, or a row with its year, version, source, holidays and
    workdays)."""
    names = {date.fromisoformat(d): n for d, n in row.holidays.items() if n}
    names.update({date.fromisoformat(d): n for d, n in row.workdays.items() if n})
    return YearSchedule(
        year=row.year,
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
        workdays=frozenset(date.fromisoformat(d) for d in row.workdays),
        source=row.source,
        version=row.version,
        names=names,
    )


def build_calendar(session: Session) -> WorkCalendar:
    """A calendar from what this session sees (uncommitted loads included); not cached."""
    rows = session.scalars(select(CalendarYear).order_by(CalendarYear.year, CalendarYear.version))
    return WorkCalendar({row.year: schedule_of(row) for row in {r.year: r for r in rows}.values()})


class CalendarCache:
    """The current calendar, rebuilt when the (year, version, content) of the loaded rows changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[tuple[int, int, str], ...] | None = None
        self._calendar: WorkCalendar | None = None

    def get(self, session: Session) -> WorkCalendar:
        rows = core_rows.read(session, _SCHEDULE_ROWS, {}).all()  # the columns a schedule needs, not objects
        key = tuple((r.year, r.version, _digest(r.holidays, r.workdays)) for r in rows)
        with self._lock:
            if self._calendar is not None and key == self._key:
                return self._calendar
        calendar = WorkCalendar({row.year: schedule_of(row) for row in {r.year: r for r in rows}.values()})
        with self._lock:
            self._key, self._calendar = key, calendar
        return calendar


_SCHEDULE_ROWS = (select(CalendarYear.year, CalendarYear.version, CalendarYear.source, CalendarYear.holidays,
                         CalendarYear.workdays).order_by(CalendarYear.year, CalendarYear.version))  # built once


def current(session: Session, ctx: EngineContext) -> WorkCalendar:
    """The calendar this transaction sees, read once per transaction (`load_year` forgets it)."""
    transaction = session.get_transaction()
    memo = session.info.get(_CURRENT_KEY)
    if memo is not None and memo[0] is transaction and transaction is not None:
        return memo[1]
    calendar = ctx.calendars.get(session)
    session.info[_CURRENT_KEY] = (transaction, calendar)
    return calendar


_CURRENT_KEY = "engine.calendars.current"


class LazyCalendar:
    """`current(session, ctx)`, read on first use: most commands start no working-day timer, so the command path
    binds this instead of reading `calendar_years` (and digesting its rows) every time. It holds the session
    weakly and refuses to be read once the command's session is gone (a later command binds its own)."""

    def __init__(self, session: Session, ctx: EngineContext) -> None:
        self._session = weakref.ref(session)
        self._ctx = ctx
        self._calendar: WorkCalendar | None = None

    def __getattr__(self, name: str) -> Any:
        calendar = self._calendar
        if calendar is None:
            session = self._session()
            if session is None:
                raise RuntimeError("a workflow's calendar was read after its command ended")
            calendar = self._calendar = current(session, self._ctx)
        return getattr(calendar, name)


def lazy(session: Session, ctx: EngineContext) -> WorkCalendar:
    return cast(WorkCalendar, LazyCalendar(session, ctx))


# --- reads ---------------------------------------------------------------------------------------------------


def show_year(session: Session, ctx: EngineContext, year: int) -> YearSummary:
    try:
        return current(session, ctx).year_summary(year)
    except ValueError as exc:
        raise InvalidSchedule(str(exc)) from None


def add_days(session: Session, ctx: EngineContext, start: date, n: int) -> WorkdayResult:
    if n < 0:
        raise InvalidSchedule(f"N must be >= 0, got {n}")
    try:
        return current(session, ctx).add_working_days(start, n)
    except ValueError as exc:
        raise InvalidSchedule(str(exc)) from None


# --- loading a year ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RescheduledOut:
    instance_id: str
    bpmn_id: str
    old_due: datetime | None
    new_due: datetime
    provisional: bool


@dataclass(frozen=True)
class FlaggedOut:
    instance_id: str
    bpmn_id: str
    fired_at: datetime
    due_now: datetime


@dataclass
class LoadReport:
    year: int
    version: int
    source: str
    working_days: int
    unchanged: bool = False
    rescheduled: list[RescheduledOut] = field(default_factory=list)
    tasks_rescheduled: int = 0
    flagged: list[FlaggedOut] = field(default_factory=list)


def load_year(session: Session, ctx: EngineContext, schedule: YearSchedule, *, actor: str,
              now: datetime) -> LoadReport:
    """Store `schedule`, then move every affected due time and flag early firings. One transaction."""
    from engine.services import execution  # execution imports this module (calendar binding)

    holidays = {d.isoformat(): schedule.names.get(d, "") for d in sorted(schedule.holidays)}
    workdays = {d.isoformat(): schedule.names.get(d, "") for d in sorted(schedule.workdays)}
    latest = session.scalars(
        select(CalendarYear).where(CalendarYear.year == schedule.year)
        .order_by(CalendarYear.version.desc()).limit(1)
    ).one_or_none()
    if latest is not None:
        same = (latest.holidays, latest.workdays) == (holidays, workdays)
        if schedule.version == latest.version and same:
            summary = current(session, ctx).year_summary(schedule.year)
            return LoadReport(schedule.year, schedule.version, latest.source, summary.working_days, unchanged=True)
        if schedule.version <= latest.version:
            raise InvalidSchedule(
                f"{schedule.year} v{latest.version} is already loaded"
                + (" with different days" if schedule.version == latest.version else "")
                + f"; give the file `version = {latest.version + 1}` to replace it")
    session.add(CalendarYear(year=schedule.year, version=schedule.version, source=schedule.source,
                             holidays=holidays, workdays=workdays, loaded_at=now, loaded_by=actor))
    session.flush()
    session.info.pop(_CURRENT_KEY, None)  # this transaction's calendar changed
    calendar = build_calendar(session)
    summary = calendar.year_summary(schedule.year)
    report = LoadReport(schedule.year, schedule.version, schedule.source, summary.working_days)
    execution.record(session, ctx, None, EventKind.CALENDAR_LOADED, actor=actor, now=now,
                     payload={"year": schedule.year, "version": schedule.version, "source": schedule.source,
                              "working_days": summary.working_days, "holidays": len(holidays),
                              "workdays": len(workdays)})
    year_start = datetime(schedule.year, 1, 1, tzinfo=SHANGHAI).astimezone(timezone.utc)
    _reschedule(session, ctx, calendar, year_start, report, actor=actor, now=now)
    _flag_early(session, ctx, calendar, year_start, schedule, report, actor=actor, now=now)
    return report


def _affected_instances(session: Session, year_start: datetime) -> list[str]:
    """Running or suspended instances with a working-day due that may lie in or after the loaded year."""
    timer_ids = session.scalars(
        select(Timer.instance_id).where(
            Timer.status == TimerStatus.WAITING, Timer.calendar == WORKDAY, Timer.basis.is_not(None),
            or_(Timer.due_at.is_(None), Timer.due_at >= year_start, Timer.provisional.is_(True)))
    ).all()
    task_ids = session.scalars(
        select(HumanTask.instance_id).where(
            HumanTask.status == HumanTaskStatus.OPEN,
            or_(and_(HumanTask.due_at.is_not(None), HumanTask.due_at >= year_start),
                and_(HumanTask.statutory_due_at.is_not(None), HumanTask.statutory_due_at >= year_start)))
    ).all()
    return sorted(set(timer_ids) | set(task_ids))


def _reschedule(session: Session, ctx: EngineContext, calendar: WorkCalendar, year_start: datetime,
                report: LoadReport, *, actor: str, now: datetime) -> None:
    from engine.services import execution, sla

    for instance_id in _affected_instances(session, year_start):
        instance = execution.lock_instance(session, instance_id)
        if instance.status not in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
            continue
        loaded = execution.load(session, ctx, instance)
        runtime.bind_calendar(loaded.workflow, calendar)
        for moved in timer_ops.recompute(loaded.workflow):
            report.rescheduled.append(RescheduledOut(instance.id, moved.bpmn_id, moved.old_due, moved.new_due,
                                                     moved.provisional))
            execution.record(session, ctx, instance.id, EventKind.TIMER_RESCHEDULED, actor=actor, now=now,
                             payload={"bpmn_id": moved.bpmn_id, "spiff_task_id": moved.spiff_task_id,
                                      "old_due_at": moved.old_due, "due_at": moved.new_due,
                                      "provisional": moved.provisional, "reason": "calendar_loaded",
                                      "calendar_year": report.year, "calendar_version": report.version})
        report.tasks_rescheduled += sla.recompute_open_tasks(session, ctx, instance.id, calendar, actor=actor,
                                                             now=now, reason="calendar_loaded")
        execution.persist(session, ctx, loaded, runtime.snapshot(loaded.workflow), actor=actor, now=now)


def _flag_early(session: Session, ctx: EngineContext, calendar: WorkCalendar, year_start: datetime,
                schedule: YearSchedule, report: LoadReport, *, actor: str, now: datetime) -> None:
    from engine.services import execution

    fired: Sequence[Timer] = session.scalars(
        select(Timer).where(Timer.status == TimerStatus.FIRED, Timer.calendar == WORKDAY,
                            Timer.basis.is_not(None), Timer.fired_at >= year_start)
        .order_by(Timer.fired_at)
    ).all()
    for timer in fired:
        assert timer.basis is not None and timer.fired_at is not None
        due = workday_due(calendar, Basis.from_json(timer.basis))
        if timer.fired_at >= due.at:
            continue
        execution.lock_instance(session, timer.instance_id)
        report.flagged.append(FlaggedOut(timer.instance_id, timer.bpmn_id, timer.fired_at, due.at))
        execution.record(session, ctx, timer.instance_id, EventKind.TIMER_FIRED_EARLY, actor=actor, now=now,
                         payload={"timer_id": timer.id, "bpmn_id": timer.bpmn_id, "fired_at": timer.fired_at,
                                  "due_at": due.at, "calendar_year": schedule.year,
                                  "calendar_version": schedule.version,
                                  "note": "fired before the loaded schedule allows; review, not reversed"})
