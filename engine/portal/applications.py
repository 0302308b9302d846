"""Applications: a draft (project, materials, commitments) that is submitted once and then runs as one process
instance of the variant the engine chose. Online it costs no trip; at the window it is the applicant's one trip.

Submitting goes through engine/bureau/applications.py (the same check as `approvals apply`): the profile entered
once supplies the applicant, the uploaded materials' codes become `materials`, a signed 告知承诺书 becomes
`commitment_requested`. The draft's uploads and signatures are then written to the new instance's history.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bureau import applications as bureau_applications
from engine.bureau.catalog import current_catalog
from engine.bureau.numbering import next_number
from engine.calendar import SHANGHAI
from engine.documents.store import DocumentStore
from engine.documents.uploads import CheckedFile, document_event, store_files
from engine.errors import Conflict, FieldError, FormInvalid
from engine.models import Application, Commitment, Document, EventKind, Trip
from engine.portal import commitments, variants
from engine.services import execution, history
from engine.services.context import EngineContext

DRAFT, SUBMITTED, DISCARDED = "draft", "submitted", "discarded"
CHANNELS = ("online", "window")
TRIP_PURPOSES = {"intake": "窗口收件（申报）", "correction": "补正材料", "supply": "补交材料", "pickup": "领取证照",
                 "other": "其他事项"}


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_files: int
    retention_years: int


def create(session: Session, ctx: EngineContext, credit_code: str, data: dict[str, Any], *, channel: str,
           actor: str, now: datetime) -> Application:
    """A draft for the enterprise; FormInvalid (Chinese field messages) when the project data is wrong."""
    catalog = current_catalog(session, ctx.processes_dir)
    project = variants.check_project(data, catalog)
    year = now.astimezone(SHANGHAI).year
    app = Application(
        id=str(uuid.uuid4()), number=f"申{year}{next_number(session, f'application:{year}'):06d}",
        credit_code=credit_code, channel=channel, status=DRAFT, kind=project["kind"],
        process_key=variants.process_for(project["kind"]), project_name=project["project_name"],
        district=project["district"], address=project["address"], zone_id=project.get("zone_id"),
        industry=project.get("industry"), building_area_m2=project["building_area_m2"],
        investment_wan=project["investment_wan"], instance_id=None, created_by=actor, created_at=now,
        submitted_by=None, submitted_at=None)
    session.add(app)
    session.flush()
    return app


def requirements(session: Session, ctx: EngineContext, app: Application, now: datetime) -> variants.Requirements:
    catalog = current_catalog(session, ctx.processes_dir)
    return variants.requirements(catalog, app.kind, app.zone_id, app.industry, now.astimezone(SHANGHAI).date())


def for_enterprise(session: Session, credit_code: str) -> Sequence[Application]:
    return session.scalars(select(Application).where(Application.credit_code == credit_code,
                                                     Application.status != DISCARDED)
                           .order_by(Application.created_at.desc())).all()


def documents(session: Session, app: Application, *, purposes: tuple[str, ...] | None = None) -> list[Document]:
    query = select(Document).where(Document.application_id == app.id)
    if purposes:
        query = query.where(Document.purpose.in_(purposes))
    return list(session.scalars(query.order_by(Document.uploaded_at, Document.material_code, Document.id)))


def uploaded_codes(session: Session, app: Application) -> set[str]:
    return {d.material_code for d in documents(session, app) if d.material_code}


def add_files(session: Session, ctx: EngineContext, store: DocumentStore, app: Application,
              files: Sequence[CheckedFile], *, purpose: str, limits: Limits, actor: str, channel: str,
              now: datetime, on_write: Callable[[str], None]) -> list[Document]:
    """Store checked files for the application (slot = material code, which must be one the catalog lists for
    its process, or "other"). After submission, the upload is written to the instance's history."""
    req = requirements(session, ctx, app, now)
    known = {m.code for m in req.materials}
    unknown = sorted({f.slot for f in files if f.slot != "other" and f.slot not in known})
    if unknown:
        raise FormInvalid([FieldError("materials", f"材料编码不在本事项的材料清单中：{'、'.join(unknown)}")])
    if app.instance_id:
        execution.lock_instance(session, app.instance_id)
    rows = store_files(session, store, files, credit_code=app.credit_code, application_id=app.id,
                       instance_id=app.instance_id, purpose=purpose,
                       material_code=lambda f: None if f.slot == "other" else f.slot, actor=actor, channel=channel,
                       now=now, retention_years=limits.retention_years, on_write=on_write)
    if app.instance_id:
        history.record(session, hmac_key=ctx.hmac_key, instance_id=app.instance_id, kind=EventKind.DOCUMENT_UPLOADED,
                       actor=actor, at=now, payload=document_event(rows))
    return rows


def remove_draft_file(session: Session, app: Application, document_id: str) -> Document:
    """Before submission an upload may be replaced; afterwards documents are part of the record and stay. The
    caller removes the bytes once the deletion is committed."""
    if app.status != DRAFT:
        raise Conflict("申请已提交，材料已归档，不能删除；如需更正请在补正时重新上传")
    doc = session.get(Document, document_id)
    if doc is None or doc.application_id != app.id:
        raise FormInvalid([FieldError("document", "没有这份材料")])
    session.delete(doc)
    session.flush()
    return doc


def discard(session: Session, app: Application) -> None:
    if app.status != DRAFT:
        raise Conflict("只有未提交的申请可以删除；已提交的申请请办理撤回")
    app.status = DISCARDED
    session.flush()


def submit(session: Session, ctx: EngineContext, app: Application, *, actor: str, now: datetime) -> Application:
    """Start the process instance for the draft (once)."""
    if app.status != DRAFT:
        raise Conflict(f"申请 {app.number} 已提交，无需重复提交")
    signed = commitments.signed(session, app.id)
    data = {"credit_code": app.credit_code, "project_name": app.project_name,
            "materials": sorted(uploaded_codes(session, app)), "channel": app.channel,
            "commitment_requested": any(c.kind == "notify_commit" for c in signed)}
    if app.zone_id:
        data["zone_id"] = app.zone_id
    if app.industry:
        data["industry"] = app.industry
    instance = bureau_applications.submit(session, ctx, app.process_key, data, actor=actor, now=now)
    app.instance_id, app.status, app.submitted_by, app.submitted_at = instance.id, SUBMITTED, actor, now
    for doc in documents(session, app):
        doc.instance_id = instance.id
    rows = documents(session, app)
    if rows:
        history.record(session, hmac_key=ctx.hmac_key, instance_id=instance.id, kind=EventKind.DOCUMENT_UPLOADED,
                       actor=actor, at=now, payload=document_event(rows))
    for row in signed:
        commitments.record_in_history(session, ctx, row, instance.id, now=now)
    session.flush()
    return app


def record_trip(session: Session, app: Application, *, purpose: str, clerk: str, now: datetime,
                note: str | None = None) -> Trip:
    if purpose not in TRIP_PURPOSES:
        raise FormInvalid([FieldError("purpose", f"来办事项：应为 {'、'.join(TRIP_PURPOSES.values())} 之一")])
    trip = Trip(application_id=app.id, credit_code=app.credit_code, at=now, purpose=purpose, clerk=clerk,
                note=(note or "").strip()[:500] or None)
    session.add(trip)
    session.flush()
    return trip


def trips(session: Session, app: Application) -> list[Trip]:
    return list(session.scalars(select(Trip).where(Trip.application_id == app.id).order_by(Trip.at, Trip.id)))


def trip_counts(session: Session, application_ids: Sequence[str]) -> dict[str, int]:
    rows = session.execute(select(Trip.application_id, func.count()).where(Trip.application_id.in_(application_ids))
                           .group_by(Trip.application_id))
    return {app_id: int(n) for app_id, n in rows}


def commitment_rows(session: Session, app: Application) -> list[Commitment]:
    return commitments.signed(session, app.id)
