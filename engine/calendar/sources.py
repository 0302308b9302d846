"""Where a year's schedule comes from when no operator has loaded one.

1. `packaged_schedule`: the official schedules shipped in the `chinesecalendar` package (2004–2026 in 1.11.0).
2. `provisional_schedule`: the provisional rule (DESIGN.md §6) for years nobody has published yet: 元旦 1/1;
   春节 除夕–初三; 清明 on the solar term; 劳动节 5/1–5/2; 端午 lunar 5/5; 中秋 lunar 8/15; 国庆节 10/1–10/3;
   no make-up days. Lunar dates and the Qingming solar term come from `lunar_python`.
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
from lunar_python import Lunar, Solar

from .schedule import YearSchedule

PACKAGED_SOURCE = f"chinesecalendar {chinese_calendar.__version__}"
PROVISIONAL_SOURCE = "provisional rule (schedule not published)"

# chinesecalendar stores English names; its Holiday enum carries the Chinese ones.
_CHINESE_NAME = {h.value: h.chinese for h in chinese_calendar.Holiday}


def packaged_schedule(year: int) -> YearSchedule | None:
    """The year's official schedule from `chinesecalendar`, or None if the package has no data for it."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))  # the package's own coverage check
    except NotImplementedError:
        return None
    names: dict[date, str] = {}
    holidays: set[date] = set()
    workdays: set[date] = set()
    for table, into in ((chinese_calendar.holidays, holidays), (chinese_calendar.workdays, workdays)):
        for day, english in table.items():
            if day.year == year:
                into.add(day)
                names[day] = _CHINESE_NAME.get(english, english)
    return YearSchedule(
        year=year,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        source=PACKAGED_SOURCE,
        version=1,
        names=names,
    )


def provisional_schedule(year: int) -> YearSchedule:
    """The provisional rule's schedule for `year` (weekends off, statutory days only, no make-up days)."""
    names: dict[date, str] = {}

    def off(name: str, first: date, days: int = 1) -> None:
        for i in range(days):
            names.setdefault(first + timedelta(days=i), name)

    new_year = _solar(Lunar.fromYmd(year, 1, 1).getSolar())  # 正月初一 of lunar year `year` falls in Jan/Feb
    off("元旦", date(year, 1, 1))
    off("春节", new_year - timedelta(days=1), 4)  # 除夕 (last day of the lunar year) to 初三
    off("清明", _qingming(year))
    off("劳动节", date(year, 5, 1), 2)
    off("端午", _solar(Lunar.fromYmd(year, 5, 5).getSolar()))
    off("中秋", _solar(Lunar.fromYmd(year, 8, 15).getSolar()))
    off("国庆节", date(year, 10, 1), 3)
    return YearSchedule(
        year=year,
        holidays=frozenset(names),
        workdays=frozenset(),
        source=PROVISIONAL_SOURCE,
        version=0,
        names=names,
    )


def _qingming(year: int) -> date:
    # The jieqi table of the lunar date for 1 April holds this year's 清明 (4–6 April).
    term = Solar.fromYmd(year, 4, 1).getLunar().getJieQiTable()["清明"]
    return _solar(term)


def _solar(solar: Solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())
