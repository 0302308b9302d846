"""What the approval bureau's workers record beside the process state: numbered notices (an outbox), permits,
the feed shared with enforcement departments, credit records, deemed approvals and escalations, the late
departments' formal-document obligations, and the number sequences behind every document number.

Rows a worker writes carry the job id (unique): a job run twice finds its first row instead of writing a second."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base


class DocumentSequence(Base):
    """The last number used in a series (e.g. `notice:2026`); incremented under the writer's lock."""

    __tablename__ = "document_sequences"

    series: Mapped[str] = mapped_column(primary_key=True)
    last: Mapped[int]


class Notice(Base):
    """A numbered written notice to the applicant (受理通知书, 补正通知书, 不予许可决定书, ...): the outbox."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(index=True)
    title: Mapped[str]
    credit_code: Mapped[str] = mapped_column(index=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    project_code: Mapped[str]
    body: Mapped[str]
    details: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    job_id: Mapped[str] = mapped_column(unique=True)


class Permit(Base):
    __tablename__ = "permits"

    id: Mapped[str] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(unique=True)
    permit_type: Mapped[str]  # land_use | planning | construction
    title: Mapped[str]
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    credit_code: Mapped[str] = mapped_column(index=True)
    project_code: Mapped[str] = mapped_column(index=True)
    project_name: Mapped[str]
    by_commitment: Mapped[bool]
    issued_at: Mapped[datetime]
    document_sha256: Mapped[str]
    revoked_at: Mapped[datetime | None]
    revocation_number: Mapped[str | None]
    revocation_reason: Mapped[str | None]
    job_id: Mapped[str] = mapped_column(unique=True)
    revocation_job_id: Mapped[str | None] = mapped_column(unique=True)


class EnforcementShare(Base):
    """One entry of the feed read by enforcement (监管/执法) departments, in `seq` order."""

    __tablename__ = "enforcement_shares"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    action: Mapped[str]  # issued | revoked
    permit_number: Mapped[str] = mapped_column(index=True)
    permit_type: Mapped[str]
    credit_code: Mapped[str]
    project_code: Mapped[str]
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"))
    recipients: Mapped[list[Any]]
    details: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    job_id: Mapped[str] = mapped_column(unique=True)


class CreditRecord(Base):
    """A credit record: `blacklist` (loaded by an operator: no 容缺, no 告知承诺) or `false_commitment` (written
    when a post-check finds a commitment untrue: no more 告知承诺)."""

    __tablename__ = "credit_records"

    id: Mapped[str] = mapped_column(primary_key=True)
    credit_code: Mapped[str] = mapped_column(index=True)
    kind: Mapped[str]
    reason: Mapped[str]
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"))
    project_code: Mapped[str | None]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str]
    expires_at: Mapped[datetime | None]
    job_id: Mapped[str | None] = mapped_column(unique=True)


class AccountabilityRecord(Base):
    """Who let a limit pass (责任追究): a department deemed to approve, the window deemed to accept."""

    __tablename__ = "accountability_records"

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    project_code: Mapped[str]
    kind: Mapped[str]  # deemed_approval | deemed_acceptance
    subject: Mapped[str]  # the review's BPMN id
    subject_name: Mapped[str]
    department: Mapped[str] = mapped_column(index=True)
    matter: Mapped[str | None]
    limit_wd: Mapped[int]
    occurred_at: Mapped[datetime]
    job_id: Mapped[str] = mapped_column(unique=True)


class Escalation(Base):
    """A limit passed where silence may not mean consent (fire, civil air defence) or a stage/overall cap passed:
    the bureau's leadership is told (督办)."""

    __tablename__ = "escalations"

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    project_code: Mapped[str]
    level: Mapped[str]  # review | stage | overall
    subject: Mapped[str]
    department: Mapped[str]
    title: Mapped[str]
    limit_wd: Mapped[int]
    raised_at: Mapped[datetime]
    job_id: Mapped[str] = mapped_column(unique=True)


class FormalDocumentObligation(Base):
    """After a deemed approval the late department must still issue its formal document within 1 working day."""

    __tablename__ = "formal_document_obligations"

    id: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    project_code: Mapped[str]
    review: Mapped[str]
    review_name: Mapped[str]
    department: Mapped[str] = mapped_column(index=True)
    matter: Mapped[str | None]
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    fulfilled_at: Mapped[datetime | None]
    fulfilled_by: Mapped[str | None]
    document_no: Mapped[str | None]
    job_id: Mapped[str] = mapped_column(unique=True)


class ProjectRegistration(Base):
    """The project code (项目代码) given to an application when it is registered, once per process instance."""

    __tablename__ = "project_registrations"

    code: Mapped[str] = mapped_column(primary_key=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    credit_code: Mapped[str] = mapped_column(index=True)
    name: Mapped[str]
    process_key: Mapped[str]
    registered_at: Mapped[datetime]
    job_id: Mapped[str] = mapped_column(unique=True)
