"""User tasks: list, get with the form schema, claim, unclaim, complete, transfer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.api.schemas.base import Body, Name, Out, PageQuery, Timestamp


class TaskQuery(PageQuery):
    status: Literal["open", "completed", "cancelled", ""] = Field(
        "open", description="open (default), completed, cancelled; empty: any")
    candidate_group: Name | None = Field(None, alias="candidateGroup", description="a department code")
    assignee: Name | None = None
    process_instance_id: Name | None = Field(None, alias="processInstanceId")


class ClaimIn(Body):
    assignee: str | None = Field(None, max_length=200, description="if given, the caller's own user name")


class CompleteTaskIn(Body):
    variables: dict[str, Any] | None = Field(None, description="the form data (checked against the form schema)")


class TransferIn(Body):
    assignee: str = Field(max_length=200, description="an active clerk of one of the task's departments")
    reason: str = Field("", max_length=500)


class Task(Out):
    id: str
    instance_id: str
    bpmn_id: str
    name: str | None
    form_key: str | None
    candidate_groups: list[str]
    assignee: str | None
    status: str = Field(description="open | completed | cancelled")
    created_at: Timestamp | None
    due_at: Timestamp | None
    completed_at: Timestamp | None
    completed_by: str | None
    properties: dict[str, Any] = Field(description="the BPMN properties (limits, department, pauses_clock, …)")
    statutory_due_at: Timestamp | None
    remaining_working_days: int | None
    light: str | None = Field(description="green | yellow | red (review tasks)")
    clock_paused: bool


class TaskDetail(Task):
    form_schema: dict[str, Any] | None = Field(description="the JSON Schema (2020-12) of the task's form")


class TaskPage(Out):
    items: list[Task]
    offset: int
    limit: int
