"""Something that needs an admin: a job out of retries or a BPMN error no boundary catches.

Listed by `/api/incidents` and `approvals incidents list`; resolving one (retry) is recorded in history.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class IncidentKind(enum.StrEnum):
    FAILED_JOB = "failed_job"
    UNHANDLED_BPMN_ERROR = "unhandled_bpmn_error"


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status_created_at", "status", "created_at"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("service_jobs.id"), index=True)
    kind: Mapped[str]
    bpmn_id: Mapped[str]
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str]
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None]
