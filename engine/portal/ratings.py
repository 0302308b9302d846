"""好差评: once an application is finished (a decision reached, or ended), its enterprise rates the service once
on the national five-level scale; a poor rating needs a reason so the bureau can follow it up (差评整改)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.errors import Conflict, FieldError, FormInvalid
from engine.models import Application, ServiceRating

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def rating(session: Session, app: Application) -> ServiceRating | None:
    return session.get(ServiceRating, app.id)


def rate(session: Session, app: Application, *, score: object, comment: str, finished: bool, actor: str,
         now: datetime) -> ServiceRating:
    if not finished:
        raise Conflict("办结后才能评价：审批仍在进行中")
    if rating(session, app) is not None:
        raise Conflict("本申请已评价，每件申请评价一次")
    try:
        value = int(str(score))
    except ValueError:
        value = 0
    comment = comment.strip()[:500]
    errors = []
    if value not in LEVELS:
        errors.append(FieldError("score", "评价：请选择“非常满意”至“非常不满意”中的一项"))
    elif value <= 2 and len(comment) < 5:
        errors.append(FieldError("comment", "评价说明：选择“不满意”或“非常不满意”时，请写明原因（至少 5 个字），便于整改"))
    if errors:
        raise FormInvalid(errors)
    row = ServiceRating(application_id=app.id, score=value, comment=comment or None, rated_by=actor, rated_at=now)
    session.add(row)
    session.flush()
    return row
