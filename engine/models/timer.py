"""One row per waiting timer; the scheduler claims due rows by `due_at` (indexed), never by loading instances."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class TimerStatus(enum.StrEnum):
    WAITING = "waiting"
    FIRED = "fired"
    CANCELLED = "cancelled"


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_status_due_at", "status", "due_at"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    spiff_task_id: Mapped[str]
    bpmn_id: Mapped[str]
    due_at: Mapped[datetime | None]
    calendar: Mapped[str] = mapped_column(default="natural")
    provisional: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str]
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
