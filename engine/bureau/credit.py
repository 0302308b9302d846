"""Credit records (信用记录): an operator's blacklist entries and the false-commitment records written when a
post-check finds a 告知承诺 untrue. Blacklisted applicants may not use 容缺受理 or 告知承诺; a false commitment
takes away 告知承诺 (DOMAIN.md §4)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.bureau import uscc
from engine.errors import InvalidInput
from engine.models import CreditRecord
from engine.services import core_rows

BLACKLIST = "blacklist"
FALSE_COMMITMENT = "false_commitment"
KINDS = (BLACKLIST, FALSE_COMMITMENT)


@dataclass(frozen=True)
class CreditStatus:
    credit_code: str
    blacklisted: bool
    may_commit: bool  # may use 告知承诺
    records: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def status(session: Session, credit_code: str, now: datetime) -> CreditStatus:
    code = uscc.normalize(credit_code)
    rows = session.scalars(select(CreditRecord).where(
        CreditRecord.credit_code == code,
        or_(CreditRecord.expires_at.is_(None), CreditRecord.expires_at > now)).order_by(CreditRecord.recorded_at))
    records = [{"kind": r.kind, "reason": r.reason, "recorded_at": r.recorded_at.isoformat(),
                "project_code": r.project_code} for r in rows]
    kinds = {r["kind"] for r in records}
    blacklisted = BLACKLIST in kinds
    return CreditStatus(code, blacklisted, not blacklisted and FALSE_COMMITMENT not in kinds, records)


def record(session: Session, *, credit_code: str, kind: str, reason: str, actor: str, now: datetime,
           instance_id: str | None = None, project_code: str | None = None, job_id: str | None = None,
           expires_at: datetime | None = None) -> CreditRecord:
    """Write a credit record; a job that runs twice finds its first record."""
    if kind not in KINDS:
        raise InvalidInput(f"credit record kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not reason or not reason.strip():
        raise InvalidInput("a credit record needs a reason")
    code = uscc.validate(credit_code)
    if job_id is not None:
        existing = core_rows.first_by(session, CreditRecord, "job_id", job_id)
        if existing is not None:
            return existing
    row = CreditRecord(id=str(uuid.uuid4()), credit_code=code, kind=kind, reason=reason.strip(),
                       instance_id=instance_id, project_code=project_code, recorded_at=now, recorded_by=actor,
                       expires_at=expires_at, job_id=job_id)
    core_rows.insert_new(session, row)
    return row
