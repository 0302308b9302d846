"""The feed shared with enforcement departments (审批与监管协作, measure 11): every permit issued or revoked
becomes an entry, in `seq` order, for the departments that supervise what the permit allows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.models import EnforcementShare
from engine.services import core_rows

ACTIONS = ("issued", "revoked")
RECIPIENTS = {
    "land_use": ("land_enforcement",),
    "planning": ("urban_enforcement", "land_enforcement"),
    "construction": ("construction_safety", "urban_enforcement"),
}
RECIPIENT_NAMES = {
    "land_enforcement": "自然资源执法监察支队",
    "urban_enforcement": "城市管理综合行政执法局",
    "construction_safety": "建设工程质量安全监督站",
}


def share(session: Session, *, job_id: str, action: str, permit: dict[str, Any], instance_id: str | None,
          now: datetime) -> EnforcementShare:
    """Append an entry for a permit (the worker's `permit` variable); the same job id returns its first entry."""
    existing = core_rows.first_by(session, EnforcementShare, "job_id", job_id)
    if existing is not None:
        return existing
    if action not in ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    permit_type = str(permit.get("permit_type") or "")
    if permit_type not in RECIPIENTS or not permit.get("number"):
        raise InvalidInput(f"not a permit: {permit!r}")
    row = EnforcementShare(action=action, permit_number=str(permit["number"]), permit_type=permit_type,
                           credit_code=str(permit.get("credit_code") or ""),
                           project_code=str(permit.get("project_code") or ""), instance_id=instance_id,
                           recipients=list(RECIPIENTS[permit_type]),
                           details={k: v for k, v in permit.items() if isinstance(v, (str, int, bool))},
                           created_at=now, job_id=job_id)
    session.add(row)
    session.flush()
    return row


def feed(session: Session, *, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
    rows = session.scalars(select(EnforcementShare).where(EnforcementShare.seq > after)
                           .order_by(EnforcementShare.seq).limit(max(1, min(limit, 500))))
    return [{"seq": r.seq, "action": r.action, "permit_number": r.permit_number, "permit_type": r.permit_type,
             "credit_code": r.credit_code, "project_code": r.project_code, "recipients": r.recipients,
             "details": r.details, "created_at": r.created_at.isoformat()} for r in rows]
