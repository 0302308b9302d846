"""The working-day calendar (DOMAIN.md §3, DESIGN.md §3.5 and §6).

Expected dates are worked out by hand from the State Council notice of 2025-11-04 as summarised in DOMAIN.md §3:
off 1/1–1/3 (1/4 Sun works); 2/15–2/23 (2/14 Sat and 2/28 Sat work); 4/4–4/6; 5/1–5/5 (5/9 Sat works);
6/19–6/21; 9/25–9/27; 10/1–10/7 (9/20 Sun and 10/10 Sat work). 2026-01-01 is a Thursday.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import chinese_calendar
import pytest

from engine.calendar import (
    PACKAGED_SOURCE,
    PROVISIONAL_SOURCE,
    SHANGHAI,
    Deadline,
    WorkCalendar,
    WorkdayResult,
    accepted_on,
    parse_schedule,
    provisional_schedule,
    read_schedule,
)
from engine.errors import InvalidInput, InvalidSchedule

EXAMPLE_2027 = Path(__file__).resolve().parents[1] / "data" / "calendar_2027_example.toml"
D = date


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


@pytest.fixture(scope="module")
def loaded_2027() -> WorkCalendar:
    return WorkCalendar({2027: read_schedule(EXAMPLE_2027)})


# --- 2026, the official schedule ----------------------------------------------------------------------------


def test_2026_has_248_working_days(cal: WorkCalendar) -> None:
    summary = cal.year_summary(2026)
    assert summary.working_days == 248
    assert not summary.provisional and summary.source == PACKAGED_SOURCE
    assert summary.workdays == [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20),
                                D(2026, 10, 10)]  # fmt: skip
    assert cal.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # New Year: 1/1 Thu–1/3 Sat off, 1/4 Sun works (across the year boundary from 2025).
        (D(2025, 12, 31), 1, D(2026, 1, 4)),
        (D(2025, 12, 31), 2, D(2026, 1, 5)),
        # Spring Festival: 2/14 Sat works, 2/15 Sun–2/23 Mon off, 2/28 Sat works.
        (D(2026, 2, 13), 1, D(2026, 2, 14)),
        (D(2026, 2, 13), 2, D(2026, 2, 24)),
        (D(2026, 2, 13), 5, D(2026, 2, 27)),
        (D(2026, 2, 13), 6, D(2026, 2, 28)),
        (D(2026, 2, 13), 7, D(2026, 3, 2)),
        (D(2026, 2, 15), 1, D(2026, 2, 24)),
        # Labour Day: 5/1 Fri–5/5 Tue off, 5/9 Sat works.
        (D(2026, 4, 30), 1, D(2026, 5, 6)),
        (D(2026, 4, 30), 3, D(2026, 5, 8)),
        (D(2026, 4, 30), 4, D(2026, 5, 9)),
        (D(2026, 4, 30), 5, D(2026, 5, 11)),
        # Mid-Autumn 9/25 Fri–9/27 Sun and National Day 10/1 Thu–10/7 Wed off; 9/20 Sun and 10/10 Sat work.
        (D(2026, 9, 18), 1, D(2026, 9, 20)),
        (D(2026, 9, 18), 2, D(2026, 9, 21)),
        (D(2026, 9, 18), 5, D(2026, 9, 24)),
        (D(2026, 9, 18), 6, D(2026, 9, 28)),
        (D(2026, 9, 18), 8, D(2026, 9, 30)),
        (D(2026, 9, 18), 9, D(2026, 10, 8)),
        (D(2026, 9, 18), 11, D(2026, 10, 10)),
        (D(2026, 9, 18), 12, D(2026, 10, 12)),
        # Qingming 4/4 Sat–4/6 Mon off.
        (D(2026, 4, 3), 1, D(2026, 4, 7)),
        # n = 0 is the day itself, even a holiday.
        (D(2026, 2, 16), 0, D(2026, 2, 16)),
    ],
)
def test_add_working_days_2026_follows_the_notice(cal: WorkCalendar, start: date, n: int, expected: date) -> None:
    result = cal.add_working_days(start, n)
    assert result.date == expected
    assert result.provisional is False
    assert cal.working_days_between(start, expected) == n


def test_day_info_2026(cal: WorkCalendar) -> None:
    eve = cal.day(D(2026, 2, 16))
    assert (eve.working, eve.provisional, eve.source, eve.name) == (False, False, PACKAGED_SOURCE, "春节")
    makeup = cal.day(D(2026, 2, 28))
    assert makeup.working and makeup.name == "春节"
    assert cal.day(D(2026, 3, 7)).working is False and cal.day(D(2026, 3, 7)).name is None  # plain Saturday
    assert cal.is_working_day(D(2026, 10, 10)) and not cal.is_working_day(D(2026, 10, 7))


@pytest.mark.parametrize("year", [2004, 2015, 2020, 2025, 2026])
def test_packaged_years_agree_with_chinesecalendar(cal: WorkCalendar, year: int) -> None:
    day = D(year, 1, 1)
    while day.year == year:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_working_days_between_edges(cal: WorkCalendar) -> None:
    assert cal.working_days_between(D(2026, 3, 10), D(2026, 3, 10)) == 0
    assert cal.working_days_between(D(2026, 3, 10), D(2026, 3, 9)) == 0
    assert cal.working_days_between(D(2026, 3, 6), D(2026, 3, 9)) == 1  # Fri → Mon: only Monday
    assert cal.working_days_between(D(2026, 2, 13), D(2026, 3, 2)) == 7


def test_negative_n_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.add_working_days(D(2026, 3, 9), -1)


# --- provisional years ----------------------------------------------------------------------------------------


def test_provisional_rule_2027(cal: WorkCalendar) -> None:
    # lunar_python: 正月初一 of 2027 is 2027-02-06, so 除夕 (腊月廿九, a short month) is Friday 2027-02-05.
    schedule = provisional_schedule(2027)
    spring = sorted(d for d, name in schedule.names.items() if name == "春节")
    assert spring == [D(2027, 2, 5), D(2027, 2, 6), D(2027, 2, 7), D(2027, 2, 8)]
    qingming = [d for d, name in schedule.names.items() if name == "清明"]
    assert qingming == [D(2027, 4, 5)]  # Qingming solar term, a Monday
    assert [d for d, name in schedule.names.items() if name == "端午"] == [D(2027, 6, 9)]  # lunar 5/5
    assert [d for d, name in schedule.names.items() if name == "中秋"] == [D(2027, 9, 15)]  # lunar 8/15
    assert schedule.workdays == frozenset()

    info = cal.day(D(2027, 2, 8))
    assert (info.working, info.provisional, info.source, info.name) == (False, True, PROVISIONAL_SOURCE, "春节")
    # Weekdays off: 1/1, 2/5, 2/8, 4/5, 6/9, 9/15, 10/1 → 261 weekdays − 7.
    summary = cal.year_summary(2027)
    assert (summary.working_days, summary.provisional) == (254, True)
    assert cal.is_provisional(2027) and not cal.is_provisional(2026)


def test_provisional_rule_matches_published_years_since_2025() -> None:
    # Since the 2025 revision every provisional day off is also an official one.
    for year in (2025, 2026):
        official = {d for d in provisional_schedule(year).holidays if not chinese_calendar.is_workday(d)}
        assert official == provisional_schedule(year).holidays, year


def test_2027_is_provisional_until_loaded(cal: WorkCalendar, loaded_2027: WorkCalendar) -> None:
    before = cal.add_working_days(D(2027, 2, 4), 1)
    assert before == WorkdayResult(D(2027, 2, 9), True)  # provisional: 2/5–2/8 off
    after = loaded_2027.add_working_days(D(2027, 2, 4), 1)
    assert after == WorkdayResult(D(2027, 2, 15), False)  # example: 2/5–2/13 off, 2/14 Sun
    assert loaded_2027.add_working_days(D(2027, 2, 4), 6).date == D(2027, 2, 20)  # example make-up Saturday
    assert not loaded_2027.is_provisional(2027)
    assert loaded_2027.day(D(2027, 2, 20)).name == "春节"
    assert cal.with_schedule(read_schedule(EXAMPLE_2027)).add_working_days(D(2027, 2, 4), 1) == after
    # Hand count for the example: 261 weekdays − 18 weekdays off + 4 make-up days.
    assert loaded_2027.year_summary(2027).working_days == 247


def test_crossing_into_a_provisional_year_is_provisional(cal: WorkCalendar) -> None:
    assert cal.add_working_days(D(2026, 12, 30), 1) == WorkdayResult(D(2026, 12, 31), False)
    result = cal.add_working_days(D(2026, 12, 31), 1)
    assert (result.date, result.provisional) == (D(2027, 1, 4), True)  # 1/1 Fri off, then a weekend
    assert cal.add_working_days(D(2027, 3, 1), 0).provisional is False  # relied on no day


def test_loaded_schedule_overrides_chinesecalendar() -> None:
    override = parse_schedule(
        """
        year = 2026
        source = "test override"
        version = 2
        [[holidays]]
        name = "元旦"
        from = 2026-01-01
        to = 2026-01-03
        """,
        file="override.toml",
    )
    cal = WorkCalendar({2026: override})
    assert cal.is_working_day(D(2026, 2, 16))  # a Monday, off in the package's data
    assert not cal.is_working_day(D(2026, 2, 14))  # no make-up Saturday any more
    info = cal.day(D(2026, 2, 16))
    assert (info.source, info.provisional) == ("test override", False)
    assert cal.add_working_days(D(2026, 2, 13), 1).date == D(2026, 2, 16)


def test_mismatched_loaded_year_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar({2026: read_schedule(EXAMPLE_2027)})


# --- deadlines and acceptance ---------------------------------------------------------------------------------


def test_deadline_is_end_of_shanghai_day_in_utc(cal: WorkCalendar) -> None:
    start = datetime(2026, 3, 9, 9, 30, tzinfo=SHANGHAI)  # Monday
    due = cal.deadline(start, 1)
    assert due.due_at == datetime(2026, 3, 10, 15, 59, 59, tzinfo=timezone.utc)
    assert due.due_at.tzinfo == timezone.utc and due.provisional is False
    assert due.due_at.astimezone(SHANGHAI).isoformat() == "2026-03-10T23:59:59+08:00"


def test_deadline_day0_is_the_shanghai_date(cal: WorkCalendar) -> None:
    # 16:30 UTC on Monday is 00:30 Tuesday in Shanghai: day 0 is Tuesday.
    assert cal.deadline(datetime(2026, 3, 9, 16, 30, tzinfo=timezone.utc), 1).due_at.date() == D(2026, 3, 11)
    # A step started at a deadline instant has that date as its day 0, so chained limits add up exactly.
    first = cal.deadline(datetime(2026, 3, 9, 9, tzinfo=SHANGHAI), 3)
    second = cal.deadline(first.due_at, 2)
    assert second.due_at == cal.deadline(datetime(2026, 3, 9, 9, tzinfo=SHANGHAI), 5).due_at


def test_deadline_refuses_naive_datetimes(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.deadline(datetime(2026, 3, 9, 9, 30), 1)
    with pytest.raises(ValueError):
        accepted_on(datetime(2026, 3, 9, 9, 30), cal)


def test_deadline_in_a_provisional_year(cal: WorkCalendar, loaded_2027: WorkCalendar) -> None:
    start = datetime(2027, 2, 4, 10, tzinfo=SHANGHAI)
    assert cal.deadline(start, 1).provisional is True
    assert loaded_2027.deadline(start, 1) == Deadline(datetime(2027, 2, 15, 15, 59, 59, tzinfo=timezone.utc), False)


def test_filed_saturday_accepted_monday_day1_tuesday(cal: WorkCalendar) -> None:
    filed = datetime(2026, 3, 7, 10, tzinfo=SHANGHAI)  # Saturday
    accepted = accepted_on(filed, cal)
    assert accepted == D(2026, 3, 9)  # Monday
    assert cal.add_working_days(accepted, 1).date == D(2026, 3, 10)  # day 1: Tuesday
    # Friday 17:00 UTC is already Saturday 01:00 in Shanghai.
    assert accepted_on(datetime(2026, 3, 6, 17, tzinfo=timezone.utc), cal) == D(2026, 3, 9)
    # A working day, even a make-up Saturday, accepts the filing the same day.
    assert accepted_on(datetime(2026, 2, 14, 10, tzinfo=SHANGHAI), cal) == D(2026, 2, 14)
    assert accepted_on(datetime(2026, 3, 9, 23, 59, tzinfo=SHANGHAI), cal) == D(2026, 3, 9)
    # Filed on 除夕 2026 → accepted after the whole Spring Festival break.
    assert accepted_on(datetime(2026, 2, 16, 10, tzinfo=SHANGHAI), cal) == D(2026, 2, 24)


# --- long spans -----------------------------------------------------------------------------------------------


def test_ten_year_span(cal: WorkCalendar) -> None:
    start = D(2020, 1, 1)
    result = cal.add_working_days(start, 2500)
    assert D(2029, 1, 1) < result.date < D(2031, 1, 1)
    assert result.provisional is True
    assert cal.is_working_day(result.date)
    assert cal.working_days_between(start, result.date) == 2500


def test_add_and_between_are_inverse() -> None:
    cal = WorkCalendar()
    rng = random.Random(20260101)
    for _ in range(300):
        start = D(2024, 1, 1) + timedelta(days=rng.randrange(365 * 4))
        n = rng.randrange(1, 400)
        end = cal.add_working_days(start, n).date
        assert cal.is_working_day(end)
        assert cal.working_days_between(start, end) == n
        assert cal.working_days_between(start, end - timedelta(days=1)) == n - 1


def test_years_outside_the_supported_range_are_refused(cal: WorkCalendar) -> None:
    with pytest.raises(ValueError):
        cal.is_working_day(D(1800, 1, 1))


# --- schedule files -------------------------------------------------------------------------------------------

VALID_HEAD = 'year = 2027\nsource = "test"\n'


def test_example_file_parses() -> None:
    schedule = read_schedule(EXAMPLE_2027)
    assert schedule.year == 2027 and schedule.version == 1
    assert D(2027, 2, 13) in schedule.holidays and D(2027, 2, 14) not in schedule.holidays
    assert schedule.workdays == frozenset({D(2027, 2, 20), D(2027, 5, 8), D(2027, 9, 26), D(2027, 10, 9)})
    assert "非官方" in schedule.source


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("year = 2027\nsource = \n", "not valid TOML"),
        (VALID_HEAD + "foo = 1\n", "unknown key(s) foo"),
        (VALID_HEAD + '[[holidays]]\nname = "元旦"\nfrom = 2027-01-01\nuntil = 2027-01-02\n', "unknown key(s) until"),
        (VALID_HEAD + "[[workdays]]\ndate = 2027-02-20\nwhy = 1\n", "unknown key(s) why"),
        (VALID_HEAD + '[[holidays]]\nname = "元旦"\nfrom = 2026-12-31\nto = 2027-01-01\n', "outside the year 2027"),
        (VALID_HEAD + '[[holidays]]\nname = "元旦"\nfrom = 2027-12-31\nto = 2028-01-01\n', "outside the year 2027"),
        (VALID_HEAD + "[[workdays]]\ndate = 2026-12-26\n", "outside the year 2027"),
        (VALID_HEAD + "[[workdays]]\ndate = 2027-02-19\n", "not a Saturday or Sunday"),  # a Friday
        (
            VALID_HEAD + '[[holidays]]\nname = "a"\nfrom = 2027-02-05\nto = 2027-02-10\n'
            '[[holidays]]\nname = "b"\nfrom = 2027-02-10\nto = 2027-02-12\n',
            "overlaps [[holidays]] #1 (a) on 2027-02-10",
        ),
        (VALID_HEAD + '[[holidays]]\nname = "a"\nfrom = 2027-02-05\nto = 2027-02-07\n[[workdays]]\ndate = 2027-02-06\n',
         "overlaps [[holidays]] #1 (a)"),  # fmt: skip
        (VALID_HEAD + "[[workdays]]\ndate = 2027-02-20\n[[workdays]]\ndate = 2027-02-20\n", "listed twice"),
        (VALID_HEAD + '[[holidays]]\nname = "a"\nfrom = 2027-02-07\nto = 2027-02-05\n', "before `from`"),
        (VALID_HEAD + '[[holidays]]\nname = "a"\nfrom = "2027-02-07"\n', "bare TOML date"),
        (VALID_HEAD + '[[holidays]]\nname = "a"\nfrom = 2027-02-07T00:00:00\n', "bare TOML date"),
        (VALID_HEAD + '[[holidays]]\nfrom = 2027-02-07\n', "`name` must be"),
        (VALID_HEAD + '[[holidays]]\nname = "a"\n', "`from` is required"),
        ('source = "x"\n', "`year` must be"),
        ("year = 2027\n", "`source` must be"),
        (VALID_HEAD + "version = 0\n", "`version` must be"),
        (VALID_HEAD + "holidays = 3\n", "array of tables"),
    ],
)
def test_bad_schedules_are_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        parse_schedule(text, file="calendars/2027.toml")
    err = caught.value
    assert isinstance(err, InvalidInput) and err.status == 422
    assert err.file == "calendars/2027.toml"
    assert str(err).startswith("calendars/2027.toml: ")
    assert problem in str(err)
    assert err.to_problem()["file"] == "calendars/2027.toml"


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidSchedule, match="nope.toml"):
        read_schedule(tmp_path / "nope.toml")
