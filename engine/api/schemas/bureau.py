"""The bureau: applicant profiles, applications, the enforcement feed, formal-document obligations."""

from __future__ import annotations

from typing import Any

from pydantic import Field, RootModel

from engine.api.schemas.base import MAX_INT, Body, Name, Out, Query


class FormData(RootModel[dict[str, Any]]):
    """A form's data as a JSON object; the form's own JSON Schema (in forms/) checks it, with Chinese messages."""


class Profile(Out):
    credit_code: str
    name: str
    legal_representative: str
    contact_name: str
    contact_phone: str
    address: str
    email: str | None
    submissions: int = Field(description="how often the profile was submitted")
    created: bool
    changed: list[str] = Field(description="fields this submission changed")


class FeedQuery(Query):
    after: int = Field(0, ge=0, le=MAX_INT, description="the last seq already read")
    limit: int = Field(100, ge=1, le=500)


class FeedEntry(Out):
    seq: int
    action: str = Field(description="issued | revoked")
    permit_number: str
    permit_type: str
    credit_code: str
    project_code: str
    recipients: list[Any]
    details: dict[str, Any]
    created_at: str


class Feed(Out):
    items: list[FeedEntry]


class ObligationQuery(Query):
    department: Name | None = None
    all: bool = Field(False, description="also the fulfilled ones")


class Obligation(Out):
    id: str
    project_code: str
    review: str
    review_name: str
    department: str
    due_at: str
    fulfilled_at: str | None
    document_no: str | None


class Obligations(Out):
    items: list[Obligation]


class FulfilIn(Body):
    document_no: str = Field("", max_length=200, description="the formal document's number")


class Fulfilled(Out):
    id: str
    document_no: str | None
    fulfilled_by: str | None
    fulfilled_at: str | None
    late: bool
