"""Projects as clerks and leaders see them: who applied for what, where it stands, what happened.

A project is a process instance. Its name, code, applicant and credit code come from the variables it was
started with (the `instance:started` event), read under a few common names so that processes written by
different designers show up alike: `project_name`/`project`, `project_code` (else the business key),
`credit_code`, `applicant`/`applicant_name` (a string, or an object with `name` and `credit_code`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import EventKind, HumanTask, HumanTaskStatus, InstanceEvent, ProcessDefinition, ProcessInstance


@dataclass(frozen=True)
class ProjectSummary:
    instance_id: str
    process_key: str
    process_name: str | None
    business_key: str | None
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    name: str | None
    code: str | None
    applicant: str | None
    credit_code: str | None

    def matches(self, text: str) -> bool:
        """Search by project name, project code or credit code (case-insensitive substring)."""
        needle = text.strip().lower()
        return not needle or any(needle in (v or "").lower() for v in (self.name, self.code, self.credit_code,
                                                                       self.business_key))


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, (str, int)) and str(value).strip() else None


def summarize_variables(variables: dict[str, Any]) -> dict[str, str | None]:
    project = variables.get("project")
    project_obj = project if isinstance(project, dict) else {}
    applicant = variables.get("applicant", variables.get("applicant_name"))
    applicant_obj = applicant if isinstance(applicant, dict) else {}
    return {
        "name": _text(variables.get("project_name")) or _text(project) or _text(project_obj.get("name")),
        "code": _text(variables.get("project_code")) or _text(project_obj.get("code")),
        "applicant": _text(applicant) or _text(applicant_obj.get("name")),
        "credit_code": _text(variables.get("credit_code")) or _text(applicant_obj.get("credit_code")),
    }


def start_variables(session: Session, instance_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(set(instance_ids))
    if not ids:
        return {}
    rows = session.execute(select(InstanceEvent.chain, InstanceEvent.payload).where(
        InstanceEvent.chain.in_(ids), InstanceEvent.kind == EventKind.INSTANCE_STARTED))
    return {chain: dict((payload or {}).get("variables") or {}) for chain, payload in rows}


def summaries(session: Session, instances: Sequence[ProcessInstance]) -> list[ProjectSummary]:
    variables = start_variables(session, [i.id for i in instances])
    names = dict(session.execute(select(ProcessDefinition.id, ProcessDefinition.name).where(
        ProcessDefinition.id.in_({i.definition_id for i in instances}))).all())
    out = []
    for i in instances:
        info = summarize_variables(variables.get(i.id, {}))
        out.append(ProjectSummary(i.id, i.process_key, names.get(i.definition_id), i.business_key, i.status,
                                  i.started_at, i.started_by, i.ended_at, info["name"],
                                  info["code"] or i.business_key, info["applicant"], info["credit_code"]))
    return out


def list_projects(session: Session, *, only_ids: set[str] | None, status: str | None = None,
                  search: str | None = None, limit: int = 200) -> list[ProjectSummary]:
    query = select(ProcessInstance).order_by(ProcessInstance.started_at.desc(), ProcessInstance.id)
    if only_ids is not None:
        query = query.where(ProcessInstance.id.in_(only_ids))
    if status:
        query = query.where(ProcessInstance.status == status)
    rows = summaries(session, session.scalars(query).all())
    return [r for r in rows if r.matches(search or "")][:limit]


def open_tasks(session: Session, instance_id: str) -> Sequence[HumanTask]:
    return session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.status == HumanTaskStatus.OPEN
    ).order_by(HumanTask.created_at, HumanTask.id)).all()


@dataclass(frozen=True)
class Opinion:
    """An earlier department's completed step with what it submitted."""

    bpmn_id: str
    name: str | None
    form_key: str | None
    departments: list[str]
    completed_by: str | None
    completed_at: datetime | None
    data: dict[str, Any]


def opinions(session: Session, instance_id: str, *, exclude_task: str | None = None) -> list[Opinion]:
    done = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == instance_id, HumanTask.status == HumanTaskStatus.COMPLETED
    ).order_by(HumanTask.completed_at, HumanTask.id)).all()
    data = {e.payload.get("task_id"): e.payload.get("data") or {} for e in session.scalars(select(InstanceEvent).where(
        InstanceEvent.chain == instance_id, InstanceEvent.kind == EventKind.TASK_COMPLETED))}
    return [Opinion(t.bpmn_id, t.name, t.form_key, list(t.candidate_groups or []), t.completed_by, t.completed_at,
                    dict(data.get(t.id, {})))
            for t in done if t.id != exclude_task]
