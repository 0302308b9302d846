"""The bureau's API: applicant profiles (entered once), applications (start an approval), the feed for
enforcement departments, and the formal documents departments owe after a deemed approval."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint
from flask import request

from engine.api.openapi import problems
from engine.api.requests import json_body
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.bureau import accountability, applicants, applications, enforcement
from engine.errors import InvalidInput

bp = APIBlueprint("bureau", __name__, url_prefix="/api", tag="Applicants and applications")


@bp.post("/applicants")
@unit_of_work
@bp.doc(responses=problems(422))
def submit_profile() -> tuple[dict[str, Any], int]:
    """Submit the applicant's profile (forms/applicant_profile.schema.json): 201 first time, 200 after; counted"""
    out = applicants.submit_profile(get_session(), ctx().forms_dir, json_body(), actor=actor(), now=now())
    return out.to_json(), 201 if out.created else 200


@bp.get("/applicants/<credit_code>")
def get_profile(credit_code: str) -> dict[str, Any]:
    """One applicant's profile and how often it was submitted"""
    return applicants.get_profile(get_session(), credit_code).to_json()


@bp.post("/applications/<key>")
@unit_of_work
@bp.doc(responses=problems(404, 422))
def apply(key: str) -> tuple[dict[str, Any], int]:
    """Apply (forms/application.schema.json): the profile must exist; starts the approval process KEY"""
    out = applications.submit(get_session(), ctx(), key, json_body(), actor=actor(), now=now())
    return out.to_json(), 201


@bp.get("/enforcement-feed")
def enforcement_feed() -> dict[str, Any]:
    """Permits issued and revoked, in order: `after` = the last seq already read"""
    try:
        after = int(request.args.get("after", 0))
        limit = int(request.args.get("limit", 100))
    except ValueError as exc:
        raise InvalidInput("after and limit must be integers") from exc
    if after < 0 or not 1 <= limit <= 500:
        raise InvalidInput("after must be >= 0 and limit between 1 and 500")
    return {"items": enforcement.feed(get_session(), after=after, limit=limit)}


@bp.get("/obligations")
def list_obligations() -> dict[str, Any]:
    """Formal documents owed after deemed approvals (open ones; `all=true` for every one)"""
    department = request.args.get("department") or None
    open_only = request.args.get("all", "false").lower() != "true"
    return {"items": accountability.obligations(get_session(), department=department, open_only=open_only)}


@bp.post("/obligations/<obligation_id>/fulfil")
@unit_of_work
@bp.doc(responses=problems(404, 409, 422))
def fulfil_obligation(obligation_id: str) -> dict[str, Any]:
    """Record the formal document a department issued after its deemed approval (`{"document_no": "…"}`)"""
    body = json_body()
    row = accountability.fulfil(get_session(), obligation_id, document_no=str(body.get("document_no") or ""),
                                actor=actor(), now=now())
    return {"id": row.id, "document_no": row.document_no, "fulfilled_by": row.fulfilled_by,
            "fulfilled_at": row.fulfilled_at.isoformat() if row.fulfilled_at else None,
            "late": bool(row.fulfilled_at and row.fulfilled_at > row.due_at)}
