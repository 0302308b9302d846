"""A clerk's work item: one row per READY user task, kept in step with the Spiff state by the command path."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class HumanTaskStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class HumanTask(Base):
    __tablename__ = "human_tasks"
    __table_args__ = (Index("ix_human_tasks_status_instance", "status", "instance_id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    spiff_task_id: Mapped[str]
    bpmn_id: Mapped[str]
    name: Mapped[str | None]
    form_key: Mapped[str | None]
    lane: Mapped[str | None]
    candidate_groups: Mapped[list[Any]]
    properties: Mapped[dict[str, Any]]
    assignee: Mapped[str | None] = mapped_column(index=True)
    status: Mapped[str]
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]  # review tasks: the committed limit (承诺时限)
    statutory_due_at: Mapped[datetime | None]  # review tasks: the statutory limit (法定时限)
    paused_on: Mapped[date | None]  # the instance's working-day clock is paused since (SLA frozen)
    paused_wd: Mapped[int] = mapped_column(default=0, server_default="0")  # working days added to both limits by ended pauses
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None]
