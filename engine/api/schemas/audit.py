"""Auditors: replay, chain verification, reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from engine.api.schemas.base import MAX_INT, Name, Out, Query, Timestamp
from engine.api.schemas.tasks import Task


class ReplayQuery(Query):
    until: int | None = Field(None, ge=0, le=MAX_INT, description="replay up to this event (default: all)")
    verify: bool = Field(False, description="also compare the rebuilt state with the stored one")


class Difference(Out):
    seq: int | None
    kind: str | None
    message: str


class WaitingTimer(Out):
    timer_id: str
    bpmn_id: str
    due_at: Timestamp | None


class AsOf(Out):
    seq: int
    at: Timestamp | None
    status: str
    open_tasks: list[Task]
    waiting_timers: list[WaitingTimer]
    data: dict[str, Any]


class ReplayReport(Out):
    instance_id: str
    until: int
    last_seq: int
    commands: int
    ok: bool = Field(description="false: `difference` names the first differing event")
    state_verified: bool
    difference: Difference | None
    as_of: AsOf | None


class ChainProblem(Out):
    chain: str
    seq: int | None
    problem: str


class Verification(Out):
    ok: bool
    problems: list[ChainProblem]


class ReportQuery(Query):
    format: Literal["json", "csv"] = "json"


class CapsQuery(ReportQuery):
    key: Name | None = Field(None, description="only this process key")


class DepartmentTotals(Out):
    reviews: int
    overdue: int
    deemed: int


class AccountabilityRow(Out):
    department: str
    department_name: str
    step: str
    step_name: str
    reviews: int
    on_time: int
    overdue: int
    deemed: int
    projects: list[str]


class Accountability(Out):
    generated_at: Timestamp
    deemed: int
    overdue: int
    by_department: dict[str, DepartmentTotals]
    rows: list[AccountabilityRow]


class Pause(Out):
    reason: str
    bpmn_id: str | None
    paused_at: Timestamp
    resumed_at: Timestamp | None


class Stage(Out):
    stage: str
    name: str
    started_at: Timestamp | None
    ended_at: Timestamp | None
    working_days: int | None
    start_wd: int | None


class CapRow(Out):
    instance_id: str
    business_key: str | None
    process_key: str
    status: str
    accepted_on: str = Field(json_schema_extra={"format": "date"})
    ended_at: Timestamp | None
    cap_wd: int | None
    used_wd: int
    paused_wd: int
    pauses: list[Pause]
    stages: list[Stage]
    remaining_wd: int | None
    within_cap: bool | None


class Caps(Out):
    items: list[CapRow]
