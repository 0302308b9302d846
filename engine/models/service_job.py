"""A worker's work item: one row per external service task waiting in STARTED (DESIGN.md §3.3).

The row's id is the idempotency key handed to handlers. Workers claim rows by topic (`FOR UPDATE SKIP LOCKED`
on PostgreSQL); a claim sets the lock owner and expiry, and an expired lock makes the job claimable again.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class ServiceJobStatus(enum.StrEnum):
    AVAILABLE = "available"  # claimable once run_after has passed
    LOCKED = "locked"  # claimed by lock_owner until lock_expires_at (afterwards claimable again)
    COMPLETED = "completed"
    BPMN_ERROR = "bpmn_error"  # ended through the error boundary attached to its task
    INCIDENT = "incident"  # retries exhausted or an uncaught BPMN error: waits for an admin
    CANCELLED = "cancelled"  # its task was cancelled (timer, error path, termination)


OPEN_JOB_STATUSES = (ServiceJobStatus.AVAILABLE, ServiceJobStatus.LOCKED, ServiceJobStatus.INCIDENT)


class ServiceJob(Base):
    __tablename__ = "service_jobs"
    __table_args__ = (
        Index("ix_service_jobs_status_run_after", "status", "run_after"),
        Index("ix_service_jobs_status_lock_expires_at", "status", "lock_expires_at"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    spiff_task_id: Mapped[str]
    bpmn_id: Mapped[str]
    topic: Mapped[str] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str]
    priority: Mapped[int] = mapped_column(default=0)
    # Remaining retries (Camunda semantics): the BPMN's `retries` at first (None: the worker's policy decides);
    # the first failure report keeps that number, each later one lowers it; a failure reporting 0 opens an
    # incident. So `retries = 3` allows up to 4 runs.
    retries: Mapped[int | None]
    failures: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)  # claims so far (lock expiries count): the run's number
    lock_owner: Mapped[str | None]
    lock_expires_at: Mapped[datetime | None]
    run_after: Mapped[datetime]
    error_message: Mapped[str | None] = mapped_column(Text)
    error_details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    finished_by: Mapped[str | None]
