"""The bureau's API: applicant profiles (entered once), applications (start an approval), the feed for
enforcement departments, and the formal documents departments owe after a deemed approval."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint

from engine.api.openapi import problems
from engine.api.schemas.bureau import (Feed, FeedQuery, FormData, Fulfilled, FulfilIn, ObligationQuery,
                                       Obligations, Profile)
from engine.api.schemas.instances import Instance
from engine.api.session import actor, ctx, get_session, now, unit_of_work
from engine.bureau import accountability, applicants, applications, enforcement

bp = APIBlueprint("bureau", __name__, url_prefix="/api", tag="Applicants and applications")


@bp.post("/applicants")
@unit_of_work
@bp.input(FormData, arg_name="form")
@bp.output(Profile, status_code=201, description="a new profile")
@bp.doc(responses={200: {"description": "the profile was updated (`changed` lists the fields)",
                         "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Profile"}}}}})
def submit_profile(form: FormData) -> tuple[dict[str, Any], int]:
    """Submit the applicant's profile (forms/applicant_profile.schema.json): 201 first time, 200 after; counted"""
    out = applicants.submit_profile(get_session(), ctx().forms_dir, form.root, actor=actor(), now=now())
    return out.to_json(), 201 if out.created else 200


@bp.get("/applicants/<credit_code>")
@bp.output(Profile)
def get_profile(credit_code: str) -> dict[str, Any]:
    """One applicant's profile and how often it was submitted"""
    return applicants.get_profile(get_session(), credit_code).to_json()


@bp.post("/applications/<key>")
@unit_of_work
@bp.input(FormData, arg_name="form")
@bp.output(Instance, status_code=201)
@bp.doc(responses=problems(409))
def apply(key: str, form: FormData) -> dict[str, Any]:
    """Apply (forms/application.schema.json): the profile must exist; starts the approval process KEY"""
    return applications.submit(get_session(), ctx(), key, form.root, actor=actor(), now=now()).to_json()


@bp.get("/enforcement-feed")
@bp.input(FeedQuery, location="query", arg_name="query")
@bp.output(Feed)
def enforcement_feed(query: FeedQuery) -> dict[str, Any]:
    """Permits issued and revoked, in order: `after` = the last seq already read"""
    return {"items": enforcement.feed(get_session(), after=query.after, limit=query.limit)}


@bp.get("/obligations")
@bp.input(ObligationQuery, location="query", arg_name="query")
@bp.output(Obligations)
def list_obligations(query: ObligationQuery) -> dict[str, Any]:
    """Formal documents owed after deemed approvals (open ones; `all=true` for every one)"""
    return {"items": accountability.obligations(get_session(), department=query.department,
                                                open_only=not query.all)}


@bp.post("/obligations/<obligation_id>/fulfil")
@unit_of_work
@bp.input(FulfilIn, arg_name="body")
@bp.output(Fulfilled)
@bp.doc(responses=problems(409))
def fulfil_obligation(obligation_id: str, body: FulfilIn) -> dict[str, Any]:
    """Record the formal document a department issued after its deemed approval (`{"document_no": "…"}`)"""
    row = accountability.fulfil(get_session(), obligation_id, document_no=body.document_no, actor=actor(),
                                now=now())
    return {"id": row.id, "document_no": row.document_no, "fulfilled_by": row.fulfilled_by,
            "fulfilled_at": row.fulfilled_at.isoformat() if row.fulfilled_at else None,
            "late": bool(row.fulfilled_at and row.fulfilled_at > row.due_at)}
