"""Downloads of stored documents (materials, scans, notices, permits) for whoever may see them, and the public
verification page of permits and notices (`/verify/<code>`), which needs no sign-in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, g, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.api.session import get_session
from engine.bureau import applicants
from engine.documents import codes
from engine.models import Application, Document, Notice, Permit
from engine.portal import access
from engine.web.pages import page_blueprint
from engine.web.portal.common import store

bp = page_blueprint("documents", __name__)


@bp.get("/documents/<document_id>")
def download(document_id: str) -> Response:
    doc = access.require_document(get_session(), g.principal, document_id)
    data = store().read(doc.storage_key, doc.sha256)
    response = Response(data, mimetype=doc.content_type)
    ascii_name = f"{doc.id}{doc.file_name[doc.file_name.rfind('.'):] if '.' in doc.file_name else ''}"
    response.headers["Content-Disposition"] = (f"attachment; filename=\"{ascii_name}\"; "
                                               f"filename*=UTF-8''{quote(doc.file_name)}")
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Document-SHA256"] = doc.sha256
    return response


@bp.get("/verify")
def verify_form() -> Any:
    typed = (request.args.get("code") or "").strip()
    if typed:
        code = codes.normalize(typed)
        if code is not None:
            return redirect(url_for("documents.verify", code=code))
        return render_template("verify/index.html", typed=typed, error="验证码格式不正确：应为 16 位字母数字（如 7K3Q-M9TX-2D4F-HW8R）"), 400
    return render_template("verify/index.html", typed="", error=None)


@bp.get("/verify/<code>")
def verify(code: str) -> Any:
    canonical = codes.normalize(code)
    if canonical is not None and canonical != code:
        return redirect(url_for("documents.verify", code=canonical))
    session = get_session()
    doc = session.scalars(select(Document).where(Document.verification_code == canonical)).first() if canonical else None
    if doc is None:
        return render_template("verify/result.html", found=False, code=code), 404
    permit = session.get(Permit, doc.subject_id) if doc.subject_kind == "permit" else None
    notice = session.get(Notice, doc.subject_id) if doc.subject_kind == "notice" else None
    app = session.get(Application, doc.application_id) if doc.application_id else None
    profile = applicants.find_profile(session, doc.credit_code)
    return render_template("verify/result.html", found=True, code=canonical, doc=doc, permit=permit,
                           notice=notice, app=app, applicant=profile.name if profile else None)
