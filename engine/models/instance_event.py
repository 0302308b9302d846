"""Append-only, hash-chained history. One chain per instance plus a `system` chain (DESIGN.md §3.4, §6)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base

SYSTEM_CHAIN = "system"


class EventKind(enum.StrEnum):
    DEFINITION_DEPLOYED = "definition:deployed"
    INSTANCE_STARTED = "instance:started"
    INSTANCE_ADVANCED = "instance:advanced"
    INSTANCE_COMPLETED = "instance:completed"
    INSTANCE_SUSPENDED = "instance:suspended"
    INSTANCE_RESUMED = "instance:resumed"
    INSTANCE_TERMINATED = "instance:terminated"
    INSTANCE_INCIDENT = "instance:incident"
    INSTANCE_MIGRATED = "instance:migrated"  # moved to another version of its process (issue 11)
    TASK_CREATED = "task:created"
    TASK_CLAIMED = "task:claimed"
    TASK_UNCLAIMED = "task:unclaimed"
    TASK_COMPLETED = "task:completed"
    TASK_CANCELLED = "task:cancelled"
    TASK_TRANSFERRED = "task:transferred"
    TASK_DEEMED_APPROVED = "task:deemed_approved"
    TIMER_SCHEDULED = "timer:scheduled"
    TIMER_FIRED = "timer:fired"
    TIMER_CANCELLED = "timer:cancelled"
    TIMER_RESCHEDULED = "timer:rescheduled"  # a pause ended or a loaded schedule moved the due time
    TIMER_FIRED_EARLY = "timer:fired_early"  # flagged for review: fired before a later-loaded schedule allowed
    # System chain: operator actions on time.
    CALENDAR_LOADED = "calendar:loaded"
    CLOCK_SET = "clock:set"
    CLOCK_PAUSED = "clock:paused"
    CLOCK_RESUMED = "clock:resumed"
    JOB_CREATED = "job:created"
    JOB_CLAIMED = "job:claimed"
    JOB_COMPLETED = "job:completed"
    JOB_FAILED = "job:failed"
    JOB_RETRIED = "job:retried"
    JOB_BPMN_ERROR = "job:bpmn_error"
    JOB_CANCELLED = "job:cancelled"
    TASK_DRAFT_SAVED = "task:draft_saved"
    # Applicants' portal (issue 8): a commitment signed by explicit confirmation, documents uploaded.
    COMMITMENT_SIGNED = "commitment:signed"
    DOCUMENT_UPLOADED = "document:uploaded"
    # System chain: sign-ins and account administration (等保 2.0 login and admin-action log).
    AUTH_LOGIN = "auth:login"
    AUTH_LOGIN_FAILED = "auth:login_failed"
    AUTH_LOCKED = "auth:locked"
    AUTH_LOGOUT = "auth:logout"
    USER_CREATED = "user:created"
    USER_DISABLED = "user:disabled"
    USER_ENABLED = "user:enabled"
    USER_UNLOCKED = "user:unlocked"
    USER_PASSWORD_CHANGED = "user:password_changed"
    TOKEN_ISSUED = "token:issued"
    TOKEN_REVOKED = "token:revoked"


class InstanceEvent(Base):
    __tablename__ = "instance_events"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    chain: Mapped[str]  # looked up through the (chain, seq) unique index (migration 0014)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(index=True)
    at: Mapped[datetime]
    actor: Mapped[str]
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str]
    hash: Mapped[str]
