"""A pause of an instance's working-day clock: open while its `pauses_clock` task is open (DESIGN.md §6)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class ClockPause(Base):
    __tablename__ = "clock_pauses"
    __table_args__ = (Index("ix_clock_pauses_instance_resumed", "instance_id", "resumed_at"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id"))
    bpmn_id: Mapped[str]
    reason: Mapped[str]
    paused_at: Mapped[datetime]
    resumed_at: Mapped[datetime | None]
