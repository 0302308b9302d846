"""Working-day arithmetic (工作日, DOMAIN.md §3) over per-year schedules.

Data precedence per year: schedules loaded by an operator > the `chinesecalendar` package > the provisional rule.
A result is *provisional* when it relied on a day of a year that only the provisional rule covers; such results
must be recomputed once the year's schedule is loaded.

Each year is compiled once into a byte per day and a running count of working days, so `add_working_days` and
`working_days_between` cost a bisect per year crossed, not a step per day.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from itertools import accumulate
from zoneinfo import ZoneInfo

from .schedule import YearSchedule
from .sources import packaged_schedule, provisional_schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)
FIRST_YEAR, LAST_YEAR = 1901, 2099  # the lunar rule's safe range; outside it there is no calendar at all


@dataclass(frozen=True)
class DayInfo:
    working: bool
    provisional: bool
    source: str
    name: str | None  # the holiday the day belongs to (for a make-up workday: the one it makes up for)


@dataclass(frozen=True)
class WorkdayResult:
    date: date
    provisional: bool


@dataclass(frozen=True)
class YearSummary:
    year: int
    working_days: int
    holidays: list[date]  # declared days off, weekends inside holiday ranges included
    workdays: list[date]  # make-up working days (调休上班)
    source: str
    provisional: bool


@dataclass(frozen=True)
class Deadline:
    due_at: datetime  # aware, UTC
    provisional: bool


@dataclass(frozen=True)
class _Year:
    """A compiled year: working[i] and count[i] (working days among days 0..i) for day i of the year."""

    schedule: YearSchedule
    provisional: bool
    first_ordinal: int
    working: bytes
    count: list[int]

    @property
    def total(self) -> int:
        return self.count[-1]


class WorkCalendar:
    """The Chinese working-day calendar. Immutable apart from its cache; safe to share between threads."""

    def __init__(self, loaded: Mapping[int, YearSchedule] | None = None) -> None:
        self._loaded: dict[int, YearSchedule] = dict(loaded or {})
        for year, schedule in self._loaded.items():
            if schedule.year != year:
                raise ValueError(f"schedule for {schedule.year} given as year {year}")
        self._years: dict[int, _Year] = {}

    def with_schedule(self, schedule: YearSchedule) -> WorkCalendar:
        """A new calendar with `schedule` loaded (replacing any loaded schedule for that year)."""
        return WorkCalendar({**self._loaded, schedule.year: schedule})

    @property
    def loaded(self) -> Mapping[int, YearSchedule]:
        return dict(self._loaded)

    def is_provisional(self, year: int) -> bool:
        """True when `year` has no published schedule (loaded or packaged)."""
        return self._year(year).provisional

    def day(self, d: date) -> DayInfo:
        y = self._year(d.year)
        return DayInfo(
            working=bool(y.working[d.toordinal() - y.first_ordinal]),
            provisional=y.provisional,
            source=y.schedule.source,
            name=y.schedule.names.get(d),
        )

    def is_working_day(self, d: date) -> bool:
        y = self._year(d.year)
        return bool(y.working[d.toordinal() - y.first_ordinal])

    def add_working_days(self, d: date, n: int) -> WorkdayResult:
        """The Nth working day after `d` (`d` itself not counted); n = 0 returns `d`."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return WorkdayResult(d, False)
        y = self._year(d.year)
        index = d.toordinal() - y.first_ordinal
        need = n
        remaining = y.total - y.count[index]  # working days after d in its year
        provisional = y.provisional and index < len(y.working) - 1  # relied on the rest of d's year
        while need > remaining:
            need -= remaining
            y = self._year(y.schedule.year + 1)
            index, remaining = -1, y.total
            provisional = provisional or y.provisional
        base = y.count[index] if index >= 0 else 0
        found = bisect_left(y.count, base + need, lo=index + 1)
        return WorkdayResult(date.fromordinal(y.first_ordinal + found), provisional)

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days x with a < x <= b (0 if b <= a)."""
        if b <= a:
            return 0
        ya, yb = self._year(a.year), self._year(b.year)
        after_a = ya.count[a.toordinal() - ya.first_ordinal]
        through_b = yb.count[b.toordinal() - yb.first_ordinal]
        if a.year == b.year:
            return through_b - after_a
        middle = sum(self._year(year).total for year in range(a.year + 1, b.year))
        return ya.total - after_a + middle + through_b

    def year_summary(self, year: int) -> YearSummary:
        y = self._year(year)
        return YearSummary(
            year=year,
            working_days=y.total,
            holidays=sorted(y.schedule.holidays),
            workdays=sorted(y.schedule.workdays),
            source=y.schedule.source,
            provisional=y.provisional,
        )

    def deadline(self, start: datetime, n: int) -> Deadline:
        """The Nth working day after start's Shanghai date, at 23:59:59 Asia/Shanghai, as aware UTC.

        A task started at a deadline instant has that date as its day 0, so chained steps add up exactly.
        """
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(f"naive datetime {start.isoformat()}: the engine only takes timezone-aware times")
        result = self.add_working_days(start.astimezone(SHANGHAI).date(), n)
        due = datetime.combine(result.date, END_OF_DAY, tzinfo=SHANGHAI).astimezone(timezone.utc)
        return Deadline(due, result.provisional)

    def _year(self, year: int) -> _Year:
        compiled = self._years.get(year)
        if compiled is None:
            compiled = self._years[year] = self._compile(year)
        return compiled

    def _compile(self, year: int) -> _Year:
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"no working-day calendar for year {year} (supported: {FIRST_YEAR}–{LAST_YEAR})")
        provisional = False
        schedule = self._loaded.get(year) or packaged_schedule(year)
        if schedule is None:
            schedule, provisional = provisional_schedule(year), True
        first = date(year, 1, 1)
        days = (date(year + 1, 1, 1) - first).days
        working = bytes(
            1 if day in schedule.workdays or (day.weekday() < 5 and day not in schedule.holidays) else 0
            for day in (first + timedelta(days=i) for i in range(days))
        )
        return _Year(schedule, provisional, first.toordinal(), working, list(accumulate(working)))
