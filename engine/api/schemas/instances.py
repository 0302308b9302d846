"""Process instances and their history."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.api.schemas.base import MAX_INT, MAX_PAGE, Body, Name, Out, PageQuery, Query, Timestamp

InstanceStatus = Literal["running", "suspended", "completed", "terminated"]


class InstanceQuery(PageQuery):
    key: Name | None = Field(None, description="process key")
    status: InstanceStatus | None = None
    business_key: Name | None = Field(None, alias="businessKey")


class ReasonIn(Body):
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S",
                        description="why (recorded in the instance's history)")


class Instance(Out):
    id: str
    definition_id: int
    process_key: str
    business_key: str | None
    status: str = Field(description="running | suspended | completed | terminated")
    started_at: Timestamp | None
    started_by: str
    ended_at: Timestamp | None
    variables: dict[str, Any] = Field(description="the process data (personal numbers masked for most roles)")


class InstancePage(Out):
    items: list[Instance]
    offset: int
    limit: int


class EventQuery(Query):
    after_seq: int = Field(0, alias="afterSeq", ge=0, le=MAX_INT, description="events after this sequence number")
    limit: int = Field(50, ge=1, le=MAX_PAGE)


class Event(Out):
    seq: int
    kind: str = Field(description="`subject:action`, e.g. task:completed (the README lists them)")
    at: Timestamp
    actor: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class EventPage(Out):
    items: list[Event]
    limit: int


class AsOfQuery(Query):
    until: int | None = Field(None, ge=0, le=MAX_INT, description="as of this event's sequence number")
