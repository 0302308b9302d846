"""When a filing counts as accepted (受理): the day 0 of its time limits (DOMAIN.md §3)."""

from __future__ import annotations

from datetime import date, datetime

from .workcalendar import SHANGHAI, WorkCalendar


def accepted_on(filed_at: datetime, cal: WorkCalendar) -> date:
    """The acceptance date of a filing: its Asia/Shanghai date if that is a working day, else the next working day.

    Filed Saturday → accepted Monday → day 1 of its limits is Tuesday.
    """
    if filed_at.tzinfo is None or filed_at.utcoffset() is None:
        raise ValueError(f"naive datetime {filed_at.isoformat()}: the engine only takes timezone-aware times")
    filed_on = filed_at.astimezone(SHANGHAI).date()
    if cal.is_working_day(filed_on):
        return filed_on
    return cal.add_working_days(filed_on, 1).date
