"""Timer texts and due times: ISO 8601 literals, calendars and the basis a working-day due is computed from.

Pure functions (no Spiff): the timer specs in `timers` and the lint/parse checks share them.

- A timer text is a bare ISO 8601 literal (`P5D`, `2026-05-01T09:00:00+08:00`, `R3/PT1H`) or a sandboxed expression
  whose value is such a literal as a string (`f"P{limit}D"`, `"P5D"`).
- `natural` calendar: durations are wall-clock time from the start instant.
- `workday` calendar: a duration must be whole days, `PnD` = the end of the nth working day after the start's
  Asia/Shanghai date (`WorkCalendar.deadline`). Dates are absolute either way.
- Dates without an offset are read in Asia/Shanghai (the legal zone), never in the server's zone.

A working-day due is kept as a `Basis` (anchor instant, working days, end-of-day or same time of day) so that a
pause can add days and a newly loaded schedule can recompute it exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.calendar import SHANGHAI, WorkCalendar

WORKDAY = "workday"
NATURAL = "natural"
CALENDARS = (WORKDAY, NATURAL)

_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
_DAYS_ONLY = re.compile(r"^P(\d+)D$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$")
_CYCLE = re.compile(r"^R(\d*)/(.+)$")


class TimerTextError(ValueError):
    """A timer text that is neither a valid literal of its kind nor usable on its calendar."""


@dataclass(frozen=True)
class Basis:
    """A working-day due: `days` working days after the anchor's Shanghai date, at 23:59:59 (`eod`) or at the
    anchor's own time of day. Pauses add days; schedule loads recompute from it."""

    anchor: datetime
    days: int
    eod: bool

    def to_json(self) -> dict[str, Any]:
        return {"anchor": self.anchor.astimezone(timezone.utc).isoformat(), "days": self.days, "eod": self.eod}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Basis:
        return cls(datetime.fromisoformat(data["anchor"]), int(data["days"]), bool(data["eod"]))

    def shifted(self, days: int) -> Basis:
        return Basis(self.anchor, self.days + days, self.eod)


@dataclass(frozen=True)
class Due:
    at: datetime  # aware UTC
    provisional: bool = False
    basis: Basis | None = None  # working-day dues only


@dataclass(frozen=True)
class Cycle:
    cycles: int  # -1 = unbounded
    first: Due
    period: timedelta | None  # natural cycles
    days: int | None  # working-day cycles: working days per period


def is_literal(text: str) -> bool:
    """True for a bare ISO 8601 literal (as modelers write it), False for an expression."""
    text = text.strip()
    return bool(_DURATION.match(text) or _DATE.match(text) or _CYCLE.match(text))


def parse_datetime(text: str) -> datetime:
    """An ISO date or date-time; without an offset it is Asia/Shanghai. Returns aware UTC."""
    text = text.strip()
    if not _DATE.match(text):
        raise TimerTextError(f"{text!r} is not an ISO 8601 date or date-time")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TimerTextError(f"{text!r} is not a valid date-time: {exc}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(timezone.utc)


def _parse_duration(text: str) -> dict[str, Any]:
    if not _DURATION.match(text.strip()):
        raise TimerTextError(f"{text!r} is not an ISO 8601 duration such as P5D or PT4H")
    try:
        return TimerEventDefinition.parse_iso_duration(text.strip())
    except Exception as exc:  # Spiff raises a bare Exception("Invalid duration")
        raise TimerTextError(f"{text!r} is not a valid ISO 8601 duration: {exc}") from None


def workday_count(text: str) -> int:
    match = _DAYS_ONLY.match(text.strip())
    if not match:
        raise TimerTextError(f"{text!r}: the workday calendar counts whole working days; write PnD (e.g. P5D)")
    return int(match.group(1))


def check_duration(text: str, calendar: str) -> None:
    _parse_duration(text)
    if calendar == WORKDAY:
        workday_count(text)


def check_cycle(text: str, calendar: str) -> None:
    match = _CYCLE.match(text.strip())
    if not match:
        raise TimerTextError(f"{text!r} is not an ISO 8601 repeating interval such as R3/PT1H")
    parts = match.group(2).split("/")
    if calendar == WORKDAY:
        if len(parts) != 1:
            raise TimerTextError(f"{text!r}: a workday cycle is Rn/PnD (no start or end date)")
        workday_count(parts[0])
        return
    if len(parts) == 1:
        _parse_duration(parts[0])
    elif len(parts) == 2:
        start, period = parts
        if start.upper().startswith("P"):
            _parse_duration(start)
            parse_datetime(period)
        else:
            parse_datetime(start)
            _parse_duration(period)
    else:
        raise TimerTextError(f"{text!r} has too many parts")


def natural_after(start: datetime, text: str) -> datetime:
    parsed = _parse_duration(text)
    return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)


def workday_due(cal: WorkCalendar, basis: Basis) -> Due:
    if basis.eod:
        deadline = cal.deadline(basis.anchor, basis.days)
        return Due(deadline.due_at, deadline.provisional, basis)
    local = basis.anchor.astimezone(SHANGHAI)
    result = cal.add_working_days(local.date(), basis.days)
    at = datetime.combine(result.date, local.timetz().replace(tzinfo=None), tzinfo=SHANGHAI)
    return Due(at.astimezone(timezone.utc), result.provisional, basis)


def duration_due(text: str, calendar: str, start: datetime, cal: WorkCalendar) -> Due:
    if calendar == WORKDAY:
        return workday_due(cal, Basis(start, workday_count(text), eod=True))
    return Due(natural_after(start, text).astimezone(timezone.utc))


def date_due(text: str, calendar: str) -> Due:
    at = parse_datetime(text)
    # A working-day date is absolute, but pauses still move it: keep it as a zero-day basis at its own time.
    return Due(at, False, Basis(at, 0, eod=False) if calendar == WORKDAY else None)


def cycle_plan(text: str, calendar: str, start: datetime, cal: WorkCalendar) -> Cycle:
    check_cycle(text, calendar)
    match = _CYCLE.match(text.strip())
    assert match is not None
    cycles = int(match.group(1)) if match.group(1) else -1
    parts = match.group(2).split("/")
    if calendar == WORKDAY:
        days = workday_count(parts[0])
        return Cycle(cycles, workday_due(cal, Basis(start, days, eod=True)), None, days)
    start = start.astimezone(timezone.utc)
    if len(parts) == 1:
        first = natural_after(start, parts[0])
        return Cycle(cycles, Due(first), first - start, None)
    head, tail = parts
    if head.upper().startswith("P"):  # duration/end: the first event is end - duration
        end = parse_datetime(tail)
        period = TimerEventDefinition.get_timedelta_from_end(_parse_duration(head), end)
        return Cycle(cycles, Due(end - period), period, None)
    first_at = parse_datetime(head)
    return Cycle(cycles, Due(first_at), natural_after(first_at, tail) - first_at, None)


def shanghai_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def end_of_day(d: date) -> datetime:
    return datetime.combine(d, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(timezone.utc)
