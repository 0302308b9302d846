"""The Chinese working-day calendar (工作日): pure domain logic, no Flask and no database.

- `schedule`: `YearSchedule` and its TOML file format (`parse_schedule`, `read_schedule`).
- `sources`: schedules from the `chinesecalendar` package and the provisional rule.
- `workcalendar`: `WorkCalendar` arithmetic (add working days, count them, deadlines).
- `acceptance`: `accepted_on`, the acceptance-day rule for filings.
"""

from .acceptance import accepted_on
from .schedule import YearSchedule, parse_schedule, read_schedule
from .sources import PACKAGED_SOURCE, PROVISIONAL_SOURCE, packaged_schedule, provisional_schedule
from .workcalendar import SHANGHAI, DayInfo, Deadline, WorkCalendar, WorkdayResult, YearSummary

__all__ = [
    "PACKAGED_SOURCE",
    "PROVISIONAL_SOURCE",
    "SHANGHAI",
    "DayInfo",
    "Deadline",
    "WorkCalendar",
    "WorkdayResult",
    "YearSchedule",
    "YearSummary",
    "accepted_on",
    "packaged_schedule",
    "parse_schedule",
    "provisional_schedule",
    "read_schedule",
]
