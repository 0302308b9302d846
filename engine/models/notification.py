"""Messages to applicants by e-mail or SMS (status changes, notices, due dates): an outbox with a pluggable
sender per channel. `dedupe_key` is unique, so collecting the same event or reminder twice adds nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(unique=True)
    channel: Mapped[str]  # email | sms
    recipient: Mapped[str]
    credit_code: Mapped[str] = mapped_column(index=True)
    application_id: Mapped[str | None] = mapped_column(ForeignKey("applications.id"), index=True)
    topic: Mapped[str]  # status | action | notice | permit | due
    subject: Mapped[str]
    body: Mapped[str]
    status: Mapped[str] = mapped_column(index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class NotificationCursor(Base):
    """How far the collector has read the history (the last `instance_events.id` it turned into messages)."""

    __tablename__ = "notification_cursors"

    name: Mapped[str] = mapped_column(primary_key=True)
    last_event_id: Mapped[int]
