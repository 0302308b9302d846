"""Working-day schedules loaded by an operator (`approvals calendar load`): one row per (year, version).

The highest version of a year wins over the `chinesecalendar` package and the provisional rule.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class CalendarYear(Base):
    __tablename__ = "calendar_years"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(index=True)
    version: Mapped[int]
    source: Mapped[str]
    holidays: Mapped[dict[str, Any]]  # ISO date -> holiday name
    workdays: Mapped[dict[str, Any]]  # ISO date -> the holiday a make-up workday belongs to ("" if unnamed)
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str]
