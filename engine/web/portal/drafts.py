"""The draft of an application as both the applicant (online) and the window clerk (in person) work on it: the
matters and materials the catalog requires, what is uploaded, what a signed 容缺 commitment covers, and what the
window will still ask for. Upload, sign and submit are shared too; only the URLs and the channel differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import flash, g, redirect, render_template, request

from engine.api.session import ctx, get_session, now, unit_of_work
from engine.bureau import applicants
from engine.documents.uploads import UploadRefused, check_files, size_text
from engine.errors import Conflict, FormInvalid
from engine.models import Application, Commitment, Document
from engine.portal import applications, commitments, variants
from engine.web.portal.common import incoming_files, limits, problems_of, store, store_in_one_transaction


@dataclass
class MaterialRow:
    need: variants.MaterialNeed
    documents: list[Document]
    committed: bool  # covered by the signed 容缺 commitment


@dataclass
class MatterRow:
    matter: variants.MatterNeed
    materials: list[MaterialRow] = field(default_factory=list)


@dataclass
class DraftView:
    app: Application
    req: variants.Requirements
    matters: list[MatterRow]
    other: list[Document]
    signed: list[Commitment]
    rongque_candidates: list[tuple[str, str]]
    missing_primary: list[variants.MaterialNeed]
    missing_secondary: list[variants.MaterialNeed]

    def signed_kind(self, kind: str) -> Commitment | None:
        return next((c for c in self.signed if c.kind == kind), None)


def draft_view(app: Application) -> DraftView:
    session = get_session()
    req = applications.requirements(session, ctx(), app, now())
    docs = applications.documents(session, app)
    signed = commitments.signed(session, app.id)
    committed = {code for c in signed if c.kind == "rongque" for code in c.materials}
    by_code: dict[str, list[Document]] = {}
    for doc in docs:
        by_code.setdefault(doc.material_code or "", []).append(doc)
    matters = []
    for matter in req.matters:
        if matter.skipped_by_zone or not matter.materials:
            continue
        row = MatterRow(matter)
        for need in matter.materials:
            row.materials.append(MaterialRow(need, by_code.get(need.code, []), need.code in committed))
        matters.append(row)
    uploaded = set(by_code)
    missing = [m for m in req.materials if m.code not in uploaded]
    return DraftView(app, req, matters, by_code.get("", []), signed,
                     commitments.rongque_candidates(req, uploaded),
                     [m for m in missing if m.kind == "primary"],
                     [m for m in missing if m.kind == "secondary" and m.code not in committed])


def render_draft(app: Application, *, mode: str, problems: dict[str, Any] | None = None,
                 errors: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template("portal/draft.html", view=draft_view(app), mode=mode, problems=problems or {},
                           errors=errors or {}, max_size=size_text(limits().max_file_bytes)), status


def upload(app: Application, *, mode: str, channel: str, back: str) -> Any:
    """Check every file, then store them all or none."""
    if app.status != applications.DRAFT:
        flash("申请已提交，如需补充材料请在“需要您办理”的事项中提交", "error")
        return redirect(back)
    try:
        files = check_files(incoming_files(), max_file_bytes=limits().max_file_bytes, max_files=limits().max_files)
        rows = store_in_one_transaction(lambda on_write: applications.add_files(
            get_session(), ctx(), store(), _reload(app), files, purpose="material", limits=limits(),
            actor=g.principal.username, channel=channel, now=now(), on_write=on_write))
    except UploadRefused as exc:
        flash(exc.detail, "error")
        return render_draft(app, mode=mode, problems=problems_of(exc), status=422)
    except FormInvalid as exc:
        flash("；".join(e.message for e in exc.errors), "error")
        return render_draft(app, mode=mode, status=422)
    flash(f"已上传 {len(rows)} 个文件，文件类型和完整性已校验。")
    return redirect(back)


def remove(app: Application, document_id: str, *, back: str) -> Any:
    try:
        doc = unit_of_work(lambda: applications.remove_draft_file(get_session(), _reload(app), document_id))()
    except (Conflict, FormInvalid) as exc:
        flash(exc.detail if isinstance(exc, Conflict) else "；".join(e.message for e in exc.errors), "error")
        return redirect(back)
    store().delete(doc.storage_key)
    flash(f"已删除 {doc.file_name}")
    return redirect(back)


def commitment_form(app: Application, kind: str) -> dict[str, Any]:
    """What the sign page shows: the choices and the exact text they produce."""
    view = draft_view(app)
    chosen = request.values.getlist("materials") or [c for c, _ in view.rongque_candidates]
    try:
        due_wd = int(request.values.get("due_wd") or 5)
    except ValueError:
        due_wd = 5
    profile = applicants.get_profile(get_session(), app.credit_code)
    text = commitments.preview(app, profile, view.req, kind, chosen, due_wd)
    return {"view": view, "kind": kind, "title": commitments.KINDS[kind], "chosen": chosen, "due_wd": due_wd,
            "text": text, "digest": _sha256(text), "max_due": commitments.MAX_DUE_WD}


def sign(app: Application, kind: str, *, signed_by: str) -> Commitment:
    form = request.form
    try:
        due_wd: int | None = int(form.get("due_wd") or "")
    except ValueError:
        due_wd = None

    def run() -> Commitment:
        session = get_session()
        fresh = _reload(app)
        req = applications.requirements(session, ctx(), fresh, now())
        return commitments.sign(
            session, ctx(), fresh, applicants.get_profile(session, fresh.credit_code), req, kind=kind,
            uploaded=applications.uploaded_codes(session, fresh), materials=form.getlist("materials"),
            due_wd=due_wd, signer_name=form.get("signer_name") or "", confirmed=form.get("confirmed") == "on",
            text_shown_sha256=form.get("digest") or "", actor=signed_by, now=now())

    return unit_of_work(run)()


def _reload(app: Application) -> Application:
    fresh = get_session().get(Application, app.id)
    assert fresh is not None
    return fresh


def _sha256(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()
