"""One year's official holiday schedule (放假安排) and its TOML file format.

An operator loads a year from a file once the State Council publishes it (each November)::

    # calendars/2027.toml
    year = 2027                                   # required: the calendar year
    source = "国务院办公厅关于2027年部分节假日安排的通知"  # required: where the data come from
    version = 1                                   # optional (default 1): bump when correcting a loaded year

    [[holidays]]                                  # days off (放假), weekends inside the range included
    name = "元旦"                                  # required
    from = 2027-01-01                             # required, a bare TOML date (no quotes)
    to = 2027-01-03                               # optional, defaults to `from`

    [[workdays]]                                  # 调休上班: a Saturday or Sunday that is a working day
    date = 2027-02-20                             # required, a bare TOML date
    name = "春节"                                  # optional: the holiday it makes up for

Every date must lie in `year`; holiday ranges must not overlap each other or a make-up workday. Anything else
(unknown keys, wrong types, bad TOML) raises `InvalidSchedule` naming the file and the problem.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from engine.errors import InvalidSchedule

_TOP_KEYS = {"year", "source", "version", "holidays", "workdays"}
_HOLIDAY_KEYS = {"name", "from", "to"}
_WORKDAY_KEYS = {"date", "name"}


@dataclass(frozen=True)
class YearSchedule:
    """The days off and make-up working days of one year; every other day is Monday–Friday on, weekends off."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    version: int = 1
    # Holiday name per date (for a make-up workday: the holiday it makes up for). Informational only.
    names: Mapping[date, str] = field(default_factory=dict, compare=False, hash=False, repr=False)


def parse_schedule(text: str, *, file: str = "<toml>") -> YearSchedule:
    """Parse and strictly check a year schedule in the TOML format above."""

    def fail(problem: str) -> InvalidSchedule:
        return InvalidSchedule(f"{file}: {problem}", file=file)

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise fail(f"not valid TOML: {exc}") from None

    _no_unknown_keys(doc, _TOP_KEYS, "top level", fail)
    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1901 <= year <= 2099:
        raise fail("`year` must be an integer between 1901 and 2099")
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        raise fail("`source` must be a non-empty string naming the notice")
    version = doc.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail("`version` must be a positive integer")

    names: dict[date, str] = {}
    holidays: dict[date, str] = {}  # date -> "[[holidays]] #n (name)", for overlap messages
    for n, entry in enumerate(_tables(doc, "holidays", fail), start=1):
        where = f"[[holidays]] #{n}"
        _no_unknown_keys(entry, _HOLIDAY_KEYS, where, fail)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{where}: `name` must be a non-empty string")
        start = _date(entry, "from", where, year, fail, required=True)
        end = _date(entry, "to", where, year, fail, required=False) or start
        if end < start:
            raise fail(f"{where} ({name}): `to` {end} is before `from` {start}")
        day = start
        while day <= end:
            if day in holidays:
                raise fail(f"{where} ({name}) overlaps {holidays[day]} on {day}")
            holidays[day] = f"{where} ({name})"
            names[day] = name
            day += timedelta(days=1)

    workdays: set[date] = set()
    for n, entry in enumerate(_tables(doc, "workdays", fail), start=1):
        where = f"[[workdays]] #{n}"
        _no_unknown_keys(entry, _WORKDAY_KEYS, where, fail)
        day = _date(entry, "date", where, year, fail, required=True)
        name = entry.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise fail(f"{where}: `name` must be a non-empty string")
        if day.weekday() < 5:
            raise fail(f"{where}: make-up workday {day} is a {day:%A}, not a Saturday or Sunday")
        if day in holidays:
            raise fail(f"{where}: make-up workday {day} overlaps {holidays[day]}")
        if day in workdays:
            raise fail(f"{where}: make-up workday {day} is listed twice")
        workdays.add(day)
        if name:
            names[day] = name

    return YearSchedule(
        year=year,
        holidays=frozenset(holidays),
        workdays=frozenset(workdays),
        source=source.strip(),
        version=version,
        names=names,
    )


def read_schedule(path: str | Path) -> YearSchedule:
    """Read a schedule file (UTF-8); errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSchedule(f"{path}: cannot read: {exc}", file=str(path)) from None
    return parse_schedule(text, file=str(path))


def _no_unknown_keys(table: Mapping[str, Any], allowed: set[str], where: str, fail: Any) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise fail(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _tables(doc: Mapping[str, Any], key: str, fail: Any) -> list[Mapping[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise fail(f"`{key}` must be an array of tables ([[{key}]])")
    return value


def _date(entry: Mapping[str, Any], key: str, where: str, year: int, fail: Any, *, required: bool) -> date | None:
    value = entry.get(key)
    if value is None:
        if required:
            raise fail(f"{where}: `{key}` is required")
        return None
    # TOML local datetimes parse as datetime, a date subclass: refuse them too.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise fail(f"{where}: `{key}` must be a bare TOML date such as {year}-01-01, got {value!r}")
    if value.year != year:
        raise fail(f"{where}: `{key}` {value} is outside the year {year}")
    return value
