"""Deemed approvals, deemed acceptance, escalations and the late departments' formal-document obligations
(审批超时默认制 and 责任追究制, DOMAIN.md §1 measures 5–6, §4).

A deemed approval records who let the limit pass and obliges that department to issue its formal document
within 1 working day (the end of the next working day, Asia/Shanghai); fire and civil-air-defence reviews are
never deemed: passing their limit raises an escalation to the bureau's leadership, like a passed stage cap.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bureau.errors import ObligationFulfilled, ObligationNotFound
from engine.calendar import WorkCalendar
from engine.errors import InvalidInput
from engine.models import AccountabilityRecord, Escalation, FormalDocumentObligation
from engine.services import core_rows

DEEMED_APPROVAL = "deemed_approval"
DEEMED_ACCEPTANCE = "deemed_acceptance"
LEVELS = ("review", "stage", "overall")
FORMAL_DOCUMENT_WD = 1


def record_deemed(session: Session, *, job_id: str, kind: str, instance_id: str | None, project_code: str,
                  subject: str, subject_name: str, department: str, matter: str | None, limit_wd: int,
                  now: datetime, calendar: WorkCalendar) -> tuple[AccountabilityRecord, FormalDocumentObligation | None]:
    """The accountability record and, for a deemed approval, the formal-document obligation (same job id:
    the rows written before)."""
    record = core_rows.first_by(session, AccountabilityRecord, "job_id", job_id)
    obligation = core_rows.first_by(session, FormalDocumentObligation, "job_id", job_id)
    if record is not None:
        return record, obligation
    if kind not in (DEEMED_APPROVAL, DEEMED_ACCEPTANCE):
        raise InvalidInput(f"unknown accountability kind {kind!r}")
    record = AccountabilityRecord(id=str(uuid.uuid4()), instance_id=instance_id, project_code=project_code, kind=kind,
                                  subject=subject, subject_name=subject_name, department=department, matter=matter,
                                  limit_wd=int(limit_wd), occurred_at=now, job_id=job_id)
    if kind == DEEMED_APPROVAL:
        due = calendar.deadline(now, FORMAL_DOCUMENT_WD).due_at
        obligation = FormalDocumentObligation(
            id=str(uuid.uuid4()), instance_id=instance_id, project_code=project_code, review=subject,
            review_name=subject_name, department=department, matter=matter, created_at=now, due_at=due,
            job_id=job_id)
    core_rows.insert_new(session, record, *([obligation] if obligation is not None else []))
    return record, obligation


def raise_escalation(session: Session, *, job_id: str, instance_id: str | None, project_code: str, level: str,
                     subject: str, department: str, title: str, limit_wd: int, now: datetime) -> Escalation:
    existing = core_rows.first_by(session, Escalation, "job_id", job_id)
    if existing is not None:
        return existing
    if level not in LEVELS:
        raise InvalidInput(f"escalation level must be one of {', '.join(LEVELS)}, not {level!r}")
    row = Escalation(id=str(uuid.uuid4()), instance_id=instance_id, project_code=project_code, level=level,
                     subject=subject, department=department, title=title, limit_wd=int(limit_wd), raised_at=now,
                     job_id=job_id)
    core_rows.insert_new(session, row)
    return row


def fulfil(session: Session, obligation_id: str, *, document_no: str, actor: str,
           now: datetime) -> FormalDocumentObligation:
    row = session.get(FormalDocumentObligation, obligation_id)
    if row is None:
        raise ObligationNotFound(f"no formal-document obligation {obligation_id}")
    if row.fulfilled_at is not None:
        raise ObligationFulfilled(f"obligation {obligation_id} was fulfilled by {row.fulfilled_by} "
                                  f"with document {row.document_no}")
    if not document_no or not document_no.strip():
        raise InvalidInput("the formal document's number is required")
    row.fulfilled_at, row.fulfilled_by, row.document_no = now, actor, document_no.strip()
    session.flush()
    return row


def obligations(session: Session, *, department: str | None = None, open_only: bool = True) -> list[dict[str, Any]]:
    query = select(FormalDocumentObligation).order_by(FormalDocumentObligation.due_at)
    if department:
        query = query.where(FormalDocumentObligation.department == department)
    if open_only:
        query = query.where(FormalDocumentObligation.fulfilled_at.is_(None))
    return [{"id": r.id, "project_code": r.project_code, "review": r.review, "review_name": r.review_name,
             "department": r.department, "due_at": r.due_at.isoformat(), "fulfilled_at":
             r.fulfilled_at.isoformat() if r.fulfilled_at else None, "document_no": r.document_no}
            for r in session.scalars(query)]
