"""The figures of a simulation run, read back from the database it ran on (never from the driver's intentions):
share within the cap, working days used per kind, deemed approvals and overdue reviews per department, 容缺 and
returns, profile submissions per project, trips per application, and the acceptance check — every project that
reached the permit, and whose non-defaulting steps (window, fire, civil air defence) were on time, did so within
its cap; projects with escalations are listed with their overrun."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.calendar import SHANGHAI, WorkCalendar, accepted_on
from engine.models import (
    AccountabilityRecord,
    ClockPause,
    Escalation,
    EventKind,
    HumanTask,
    InstanceEvent,
    InstanceStatus,
    Notice,
    Permit,
    ProcessInstance,
    ProfileSubmission,
    Timer,
)
from engine.services import execution
from engine.services.context import EngineContext
from engine.services.reports import WorkingDayClock
from engine.simulation.behaviour import Project

CAP_DEFAULTS = {"commercial_project": 67, "government_investment_project": 96}
KIND_OF = {"commercial_project": "commercial", "government_investment_project": "government"}


@dataclass
class ProjectFigures:
    number: int
    instance_id: str
    kind: str
    status: str
    outcome: str
    cap_wd: int
    used_wd: int | None  # acceptance to the construction permit, less paused working days
    paused_wd: int
    late_nondefaulting: bool  # the window deemed to accept, or a fire / civil-air-defence review escalated
    escalations: list[str]
    rongque: str  # none | accepted | suspended | returned
    trips: int

    @property
    def overrun(self) -> int:
        return max(0, (self.used_wd or 0) - self.cap_wd)


@dataclass
class Figures:
    projects: int
    kind: str
    seed: int
    outcomes: dict[str, int]
    permits: int
    within_cap: int
    share_within_cap: float
    working_days: dict[str, dict[str, float]]  # kind -> median, p95, max, count
    by_department: dict[str, dict[str, int]]  # code -> deemed, overdue, reviews
    rongque: dict[str, int]
    profile_submissions: dict[str, Any]
    trips: dict[str, Any]
    violations: list[dict[str, Any]]  # reached the permit, non-defaulting steps on time, over the cap
    escalated: list[dict[str, Any]]  # projects with escalations, with their overrun
    stuck: int
    samples: dict[str, list[int]] = field(default_factory=dict)  # kind -> working days used per permit
    seconds: float = 0.0
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        submissions = self.profile_submissions
        return (not self.violations and not self.stuck and submissions["max_per_project"] <= 1
                and submissions["new_applicants_with_one"] == submissions["applicants"] and self.trips["max"] <= 1)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def percentile(values: list[int], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(share * (len(ordered) - 1))))
    return float(ordered[rank])


@dataclass
class Gathered:
    """What one simulation database holds, before the figures: a run split across processes (simulation/shards.py)
    gathers one per database and combines them. Every applicant's projects are in one database."""

    rows: list[ProjectFigures]
    departments: dict[str, dict[str, int]]
    submissions: dict[str, list[datetime]]  # credit code -> its profile submissions
    starts: dict[str, list[datetime]]  # credit code -> its projects' start times
    running: int  # instances still running


def collect(session: Session, ctx: EngineContext, projects: list[Project], *, kind: str, seed: int,
            now: datetime) -> Figures:
    return combine([gather(session, ctx, projects, now=now)], projects, kind=kind, seed=seed)


def gather(session: Session, ctx: EngineContext, projects: list[Project], *, now: datetime) -> Gathered:
    from engine.simulation.runner import credit_code

    calendar = ctx.calendars.get(session)
    started = [p for p in projects if p.instance_id]
    starts: dict[str, list[datetime]] = defaultdict(list)
    for p in started:
        instance = session.get(ProcessInstance, p.instance_id)
        if instance is not None:
            starts[credit_code(p.applicant + 1)].append(instance.started_at)
    submissions: dict[str, list[datetime]] = defaultdict(list)
    for row in session.scalars(select(ProfileSubmission).order_by(ProfileSubmission.submitted_at)):
        submissions[row.credit_code].append(row.submitted_at)
    return Gathered(rows=[_project(session, ctx, calendar, p, now) for p in started],
                    departments=_departments(session), submissions=dict(submissions), starts=dict(starts),
                    running=running_instances(session))


def running_instances(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ProcessInstance)
                          .where(ProcessInstance.status == InstanceStatus.RUNNING)) or 0


def combine(parts: list[Gathered], projects: list[Project], *, kind: str, seed: int) -> Figures:
    """The figures of the databases `parts` were gathered from; rows in the order of `projects` (arrival)."""
    by_number = {r.number: r for part in parts for r in part.rows}
    rows = [by_number[p.number] for p in projects if p.number in by_number]
    permitted = [r for r in rows if r.used_wd is not None]
    within = [r for r in permitted if r.used_wd is not None and r.used_wd <= r.cap_wd]
    days: dict[str, dict[str, float]] = {}
    for name in ("commercial", "government"):
        used = [r.used_wd for r in permitted if r.kind == name and r.used_wd is not None]
        if used:
            days[name] = {"count": len(used), "median": statistics.median(used), "p95": percentile(used, 0.95),
                          "max": max(used), "cap": CAP_DEFAULTS[f"{name}_project" if name == "commercial"
                                                               else "government_investment_project"]}
    departments: dict[str, dict[str, int]] = defaultdict(lambda: {"reviews": 0, "deemed": 0, "overdue": 0})
    for part in parts:
        for code, counts in part.departments.items():
            for key, value in counts.items():
                departments[code][key] += value
    return Figures(
        projects=len(rows), kind=kind, seed=seed,
        outcomes=dict(Counter(r.outcome for r in rows).most_common()),
        permits=len(permitted), within_cap=len(within),
        share_within_cap=round(len(within) / len(permitted), 4) if permitted else 0.0,
        working_days=days,
        by_department=dict(sorted(departments.items())),
        rongque=dict(Counter(r.rongque for r in rows if r.rongque != "none")),
        profile_submissions=_submissions({k: v for part in parts for k, v in part.submissions.items()},
                                         {k: v for part in parts for k, v in part.starts.items()}),
        trips={"total": sum(r.trips for r in rows), "max": max((r.trips for r in rows), default=0),
               "per_application": round(sum(r.trips for r in rows) / len(rows), 3) if rows else 0.0},
        violations=[_brief(r) for r in permitted if not r.late_nondefaulting and r.overrun > 0],
        escalated=[_brief(r) for r in rows if r.escalations],
        stuck=max(sum(1 for r in rows if r.status == "running"), sum(part.running for part in parts)),
        samples={name: sorted(r.used_wd for r in permitted if r.kind == name and r.used_wd is not None)
                 for name in days},
    )


def _brief(r: ProjectFigures) -> dict[str, Any]:
    return {"project": r.number, "instance_id": r.instance_id, "kind": r.kind, "outcome": r.outcome,
            "used_wd": r.used_wd, "cap_wd": r.cap_wd, "overrun_wd": r.overrun, "escalations": r.escalations,
            "late_nondefaulting": r.late_nondefaulting}


def _local(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _project(session: Session, ctx: EngineContext, calendar: WorkCalendar, project: Project,
             now: datetime) -> ProjectFigures:
    instance = session.get(ProcessInstance, project.instance_id)
    assert instance is not None
    variables = _variables(session, ctx, instance)
    permit = session.scalars(select(Permit).where(Permit.instance_id == instance.id,
                                                  Permit.permit_type == "construction")).first()
    accepted = accepted_on(instance.started_at, calendar)
    end = _local(permit.issued_at) if permit else _local(instance.ended_at or now)
    pauses = [(_local(p.paused_at), _local(p.resumed_at or now))
              for p in session.scalars(select(ClockPause).where(ClockPause.instance_id == instance.id))]
    clock = WorkingDayClock(calendar, pauses)
    escalations = [f"{e.level}:{e.subject}" for e in session.scalars(
        select(Escalation).where(Escalation.instance_id == instance.id)
        .order_by(Escalation.raised_at, Escalation.level, Escalation.subject))]  # same-moment ones in a fixed order
    window_deemed = session.scalars(select(AccountabilityRecord.id).where(
        AccountabilityRecord.instance_id == instance.id,
        AccountabilityRecord.kind == "deemed_acceptance")).first() is not None
    notices = set(session.scalars(select(Notice.kind).where(Notice.instance_id == instance.id)))
    outcome = str(variables.get("approval_outcome") or instance.status)
    rongque = ("returned" if outcome == "returned" else "suspended" if "rongque_suspended" in notices
               else "accepted" if variables.get("rongque") else "none")
    return ProjectFigures(
        number=project.number, instance_id=instance.id, kind=KIND_OF.get(instance.process_key, instance.process_key),
        status=instance.status, outcome=outcome,
        cap_wd=int(variables.get("cap_wd") or CAP_DEFAULTS.get(instance.process_key, 0)),
        used_wd=clock.elapsed(accepted, end) if permit else None, paused_wd=clock.paused(accepted, end),
        late_nondefaulting=window_deemed or any(e.startswith("review:") for e in escalations),
        escalations=escalations, rongque=rongque,
        trips=1 if variables.get("channel") == "window" else 0,
    )


def _variables(session: Session, ctx: EngineContext, instance: ProcessInstance) -> dict[str, Any]:
    if instance.status == InstanceStatus.COMPLETED:
        # Its variables as its completion recorded them (`runtime.workflow_data`, in JSON form: the figures read
        # strings, numbers and booleans), instead of rebuilding the workflow from its state: that load was a
        # twentieth of `simulate`.
        payload = session.scalars(select(InstanceEvent.payload).where(
            InstanceEvent.instance_id == instance.id, InstanceEvent.kind == EventKind.INSTANCE_COMPLETED)).first()
        if payload is not None and isinstance(payload.get("variables"), dict):
            return dict(payload["variables"])
    loaded = execution.load(session, ctx, instance)
    if instance.status == "running":
        return runtime.open_task_data(loaded.workflow)
    return runtime.workflow_data(loaded.workflow)


def _departments(session: Session) -> dict[str, dict[str, int]]:
    """Per department: reviews opened, deemed approvals, and reviews whose committed limit passed (their limit
    timer fired: deemed, or escalated where silence is not consent)."""
    result: dict[str, dict[str, int]] = defaultdict(lambda: {"reviews": 0, "deemed": 0, "overdue": 0})
    owner: dict[tuple[str, str], str] = {}
    # Plain rows of the columns read (every task of the run: no ORM objects to build).
    for task in session.execute(select(HumanTask.instance_id, HumanTask.bpmn_id, HumanTask.properties,
                                       HumanTask.candidate_groups)):
        props = task.properties or {}
        if props.get("limit_committed_wd"):
            department = str(props.get("department") or (task.candidate_groups or ["?"])[0])
            result[department]["reviews"] += 1
            owner[(task.instance_id, task.bpmn_id.removeprefix("review_"))] = department
    for record in session.scalars(select(AccountabilityRecord)):
        if record.kind == "deemed_approval":
            result[record.department]["deemed"] += 1
        else:
            result[record.department]["overdue"] += 1  # the window's 5 days passed
    for timer in session.scalars(select(Timer).where(Timer.status == "fired")):
        for prefix in ("deadline_", "overdue_"):
            if timer.bpmn_id.startswith(prefix) and timer.bpmn_id != "deadline_intake":
                department = owner.get((timer.instance_id, timer.bpmn_id.removeprefix(prefix)))
                if department:
                    result[department]["overdue"] += 1
    return dict(sorted(result.items()))


def _submissions(submissions: dict[str, list[datetime]], starts: dict[str, list[datetime]]) -> dict[str, Any]:
    """Profile submissions, each attributed to the applicant's next project started at or after it: at most one
    per project, exactly one per applicant (entered once, reused by every later project)."""
    per_project: list[int] = []
    for code, times in starts.items():
        pending = sorted(submissions.get(code, []))
        for started in sorted(times):
            count = sum(1 for t in pending if t <= started)
            pending = [t for t in pending if t > started]
            per_project.append(count)
    total = sum(len(v) for v in submissions.values())
    return {"total": total, "applicants": len(starts), "per_applicant_max": max(map(len, submissions.values()),
                                                                                 default=0),
            "new_applicants_with_one": sum(1 for code in starts if len(submissions.get(code, [])) == 1),
            "per_project": round(total / max(1, len(per_project)), 3), "max_per_project": max(per_project, default=0)}
