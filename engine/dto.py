"""Response DTOs built explicitly from models: nothing ORM or Spiff leaks to clients."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from engine.models import HumanTask, Incident, InstanceEvent, ProcessDefinition, ProcessInstance, ServiceJob
from engine.services.history import format_at


def _iso(value: datetime | None) -> str | None:
    return format_at(value) if value else None


@dataclass(frozen=True)
class DefinitionOut:
    id: int
    key: str
    version: int
    name: str | None
    file_name: str
    bpmn_sha256: str
    content_sha256: str
    forms: list[str]
    deployed_at: str | None
    deployed_by: str
    unchanged: bool = False

    @classmethod
    def from_model(cls, d: ProcessDefinition, *, unchanged: bool = False) -> DefinitionOut:
        return cls(d.id, d.process_key, d.version, d.name, d.file_name, d.bpmn_sha256, d.content_sha256,
                   sorted(d.forms), _iso(d.deployed_at), d.deployed_by, unchanged)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class InstanceOut:
    id: str
    definition_id: int
    process_key: str
    business_key: str | None
    status: str
    started_at: str | None
    started_by: str
    ended_at: str | None
    variables: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_model(cls, i: ProcessInstance, variables: dict[str, Any] | None = None) -> InstanceOut:
        return cls(i.id, i.definition_id, i.process_key, i.business_key, i.status, _iso(i.started_at),
                   i.started_by, _iso(i.ended_at), variables or {})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TaskOut:
    id: str
    instance_id: str
    bpmn_id: str
    name: str | None
    form_key: str | None
    candidate_groups: list[str]
    assignee: str | None
    status: str
    created_at: str | None
    due_at: str | None
    completed_at: str | None
    completed_by: str | None
    properties: dict[str, Any]
    # Review tasks (DESIGN.md §4): the statutory due, and with a clock, remaining working days and the light.
    statutory_due_at: str | None = None
    remaining_working_days: int | None = None
    light: str | None = None  # green | yellow | red
    clock_paused: bool = False

    @classmethod
    def from_model(cls, t: HumanTask, *, remaining_working_days: int | None = None, light: str | None = None,
                   clock_paused: bool = False) -> TaskOut:
        return cls(t.id, t.instance_id, t.bpmn_id, t.name, t.form_key, list(t.candidate_groups), t.assignee,
                   t.status, _iso(t.created_at), _iso(t.due_at), _iso(t.completed_at), t.completed_by,
                   dict(t.properties), _iso(getattr(t, "statutory_due_at", None)), remaining_working_days, light,
                   clock_paused)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EventOut:
    seq: int
    kind: str
    at: str
    actor: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_model(cls, e: InstanceEvent) -> EventOut:
        return cls(e.seq, e.kind, format_at(e.at), e.actor, e.payload, e.prev_hash, e.hash)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class JobOut:
    """A service job; `variables` (the payload) only for the worker that locked it."""

    id: str
    instance_id: str
    process_key: str | None
    business_key: str | None
    bpmn_id: str
    topic: str
    status: str
    priority: int
    retries: int | None
    failures: int
    attempts: int
    lock_owner: str | None
    lock_expires_at: str | None
    run_after: str | None
    error_message: str | None
    created_at: str | None
    finished_at: str | None
    finished_by: str | None
    variables: dict[str, Any] | None = None

    @classmethod
    def from_model(cls, j: ServiceJob, instance: ProcessInstance | None = None, *,
                   with_variables: bool = False) -> JobOut:
        return cls(j.id, j.instance_id, instance.process_key if instance else None,
                   instance.business_key if instance else None, j.bpmn_id, j.topic, j.status, j.priority,
                   j.retries, j.failures, j.attempts, j.lock_owner, _iso(j.lock_expires_at), _iso(j.run_after),
                   j.error_message, _iso(j.created_at), _iso(j.finished_at), j.finished_by,
                   dict(j.payload) if with_variables else None)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.variables is None:
            del out["variables"]
        return out


@dataclass(frozen=True)
class IncidentOut:
    id: str
    instance_id: str
    job_id: str | None
    kind: str
    bpmn_id: str
    message: str
    status: str
    created_at: str | None
    resolved_at: str | None
    resolved_by: str | None

    @classmethod
    def from_model(cls, i: Incident) -> IncidentOut:
        return cls(i.id, i.instance_id, i.job_id, i.kind, i.bpmn_id, i.message, i.status, _iso(i.created_at),
                   _iso(i.resolved_at), i.resolved_by)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
