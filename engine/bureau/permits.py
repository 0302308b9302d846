"""Permits (许可证, issued as electronic certificates): numbered, with a document whose SHA-256 is kept; revoked
when a post-check finds a 告知承诺 untrue. A job that runs twice gets its first permit, never a second number.

Numbers: construction permits follow the national pattern (division code 6 + issue date 8 + serial 4); land-use
and planning permits are 地字第 / 建字第 + division code + year + serial. The PDF rendering (reportlab's built-in
STSong-Light CID font, no system fonts) is written only when a documents directory is configured.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bureau.errors import PermitNotFound
from engine.bureau.numbering import AREA_CODE, next_number
from engine.calendar import SHANGHAI
from engine.errors import Conflict, InvalidInput
from engine.models import Permit
from engine.services import core_rows

TYPES = ("land_use", "planning", "construction")
ISSUER = "呼和浩特市行政审批和政务服务局"


def _number(session: Session, permit_type: str, now: datetime) -> str:
    local = now.astimezone(SHANGHAI)
    if permit_type == "construction":
        day = local.strftime("%Y%m%d")
        return f"{AREA_CODE}{day}{next_number(session, f'permit:construction:{day}'):04d}"
    prefix = "地字第" if permit_type == "land_use" else "建字第"
    return f"{prefix}{AREA_CODE}{local.year}{next_number(session, f'permit:{permit_type}:{local.year}'):05d}号"


def document_text(row: Permit) -> str:
    lines = [row.title, f"编号：{row.number}", f"建设单位：{row.credit_code}", f"项目名称：{row.project_name}",
             f"项目代码：{row.project_code}", f"发证机关：{ISSUER}",
             f"发证日期：{row.issued_at.astimezone(SHANGHAI).date().isoformat()}"]
    if row.by_commitment:
        lines.append("本证依据申请人告知承诺核发，发证后开展事后核查；承诺不实的，依法撤销并记入信用记录。")
    return "\n".join(lines) + "\n"


def as_variables(row: Permit) -> dict[str, Any]:
    """What the process keeps as `permit_<type>`."""
    return {"number": row.number, "permit_type": row.permit_type, "title": row.title,
            "credit_code": row.credit_code, "project_code": row.project_code, "by_commitment": row.by_commitment,
            "issued_at": row.issued_at.isoformat(), "document_sha256": row.document_sha256}


def issue(session: Session, *, job_id: str, permit_type: str, title: str, instance_id: str | None,
          credit_code: str, project_code: str, project_name: str, by_commitment: bool, now: datetime,
          documents_dir: Path | None = None) -> Permit:
    existing = core_rows.first_by(session, Permit, "job_id", job_id)
    if existing is not None:
        return existing
    if permit_type not in TYPES:
        raise InvalidInput(f"permit type must be one of {', '.join(TYPES)}, not {permit_type!r}")
    row = Permit(id=str(uuid.uuid4()), number=_number(session, permit_type, now), permit_type=permit_type,
                 title=title, instance_id=instance_id, credit_code=credit_code, project_code=project_code,
                 project_name=project_name, by_commitment=bool(by_commitment), issued_at=now, document_sha256="",
                 job_id=job_id)
    text = document_text(row)
    row.document_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    core_rows.insert_new(session, row)
    if documents_dir is not None:
        render_pdf(row, text, documents_dir / f"{row.id}.pdf")
    return row


def revoke(session: Session, *, job_id: str, number: str, reason: str, now: datetime) -> Permit:
    row = session.scalars(select(Permit).where(Permit.number == number)).first()
    if row is None:
        raise PermitNotFound(f"no permit numbered {number}")
    if row.revocation_job_id == job_id:
        return row
    if row.revoked_at is not None:
        raise Conflict(f"permit {number} was already revoked on {row.revoked_at.isoformat()}")
    year = now.astimezone(SHANGHAI).year
    row.revoked_at, row.revocation_reason, row.revocation_job_id = now, reason, job_id
    row.revocation_number = f"呼审撤销〔{year}〕{next_number(session, f'revocation:{year}'):06d}号"
    session.flush()
    return row


def render_pdf(row: Permit, text: str, path: Path) -> None:
    """An A4 certificate; `invariant` keeps the bytes the same for the same permit."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path.parent.mkdir(parents=True, exist_ok=True)
    page = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    width, height = A4
    title, *rest = text.splitlines()
    page.setFont("STSong-Light", 24)
    page.drawCentredString(width / 2, height - 120, title)
    page.setFont("STSong-Light", 12)
    y = height - 180
    for line in rest:
        page.drawString(80, y, line)
        y -= 26
    page.showPage()
    page.save()
