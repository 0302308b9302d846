"""One row per waiting timer; the scheduler claims due rows by `due_at` (indexed), never by loading instances.

The authoritative due time lives in the instance's Spiff state; this row mirrors it after every command."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class TimerStatus(enum.StrEnum):
    WAITING = "waiting"
    FIRED = "fired"
    CANCELLED = "cancelled"
    INCIDENT = "incident"  # firing failed; not retried by ticks until an admin acts


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_status_due_at", "status", "due_at"),  # the scheduler's due scan
        # The command path's sync reads an instance's waiting timers. With only (status, due_at) and
        # (instance_id) to choose from, SQLite's planner (no statistics) took the first, which avoids a sort but
        # walks every waiting timer of every instance: a sixth of `simulate --projects 1000`, growing with the
        # number of running projects. Its prefix also serves every lookup by instance alone.
        Index("ix_timers_instance_id_status_due_at", "instance_id", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))  # indexed above
    spiff_task_id: Mapped[str]
    bpmn_id: Mapped[str]
    due_at: Mapped[datetime | None]
    calendar: Mapped[str] = mapped_column(default="natural")
    provisional: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str]
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    # Working-day timers: whether a pauses_clock task freezes it, since when it is frozen (due_at is NULL while
    # frozen, so ticks never scan it), and the basis its due is computed from (anchor, days, eod).
    pausable: Mapped[bool] = mapped_column(default=False, server_default=false())
    paused_on: Mapped[date | None]
    basis: Mapped[dict[str, Any] | None]
