"""A clerk's saved, not yet submitted form data for an open task (one draft per task, last save wins)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class TaskDraft(Base):
    __tablename__ = "task_drafts"

    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id"), primary_key=True)
    data: Mapped[dict[str, Any]]
    saved_by: Mapped[str]
    saved_at: Mapped[datetime]
