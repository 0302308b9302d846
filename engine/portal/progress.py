"""Where an application stands, as the applicant should see it: the state in words, the stage, which departments
are working on it (with their committed due dates), working days used against the cap, pauses and why, what the
applicant must do now, the departments' decisions, and the numbered notices and permits issued so far.

Working days come from the auditors' caps report (engine/services/reports.py: acceptance date, pauses merged);
stages from the BPMN's own subprocess names, so a redesigned process shows its new stages without code changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import WorkCalendar
from engine.diagram.model import Semantics, parse_semantics
from engine.models import (
    Application,
    Document,
    HumanTask,
    HumanTaskStatus,
    InstanceEvent,
    InstanceStatus,
    Notice,
    Permit,
    ProcessDefinition,
    ProcessInstance,
)
from engine.portal import steps
from engine.portal.variables import current as current_variables
from engine.services import projects, reports
from engine.services import sla as sla_rules
from engine.services.context import EngineContext
from engine.services.inbox import sla

OUTCOMES = {"permit": "准予许可", "refused": "不予许可", "not_accepted": "不予受理", "returned": "退件",
            "withdrawn": "已撤回", "revoked": "许可已撤销"}
PAUSE_REASONS = {"supplement": "申请人补正或修改材料", "expert_review": "专家评审", "public_notice": "批前公示",
                 "hearing": "听证", "inspection": "检验检测", "assessment": "委托评估",
                 "rongque_suspension": "容缺材料逾期未补交，审批中止"}
DECISIONS = {"approve": "同意", "reject": "不同意", "return": "退回", "revise": "退回修改", "pass": "通过",
             "accept": "受理", "accept_with_gaps": "容缺受理", "correct": "一次性告知补正", "refuse": "不予受理",
             "supplied": "已补正", "abandon": "放弃申请"}
INTAKE_TASK = "completeness_decision"


@dataclass(frozen=True)
class CurrentStep:
    name: str
    departments: list[str]
    stage_path: list[str]
    due_at: datetime | None
    remaining_wd: int | None
    light: str | None
    paused: bool


@dataclass(frozen=True)
class PauseView:
    reason: str
    step: str | None
    paused_at: str
    resumed_at: str | None


@dataclass(frozen=True)
class DecisionView:
    step: str
    departments: list[str]
    decision: str
    opinion: str
    at: datetime | None
    deemed: bool
    review: bool  # a department's review (not the window's intake or a step the applicant answered)


@dataclass(frozen=True)
class IssuedView:
    kind: str  # notice | permit
    title: str
    number: str
    at: datetime
    document_id: str | None
    verification_code: str | None
    revoked: bool = False


@dataclass
class Progress:
    state: str
    state_label: str
    project_code: str | None = None
    stages: list[str] = field(default_factory=list)
    steps: list[CurrentStep] = field(default_factory=list)
    applicant_steps: list[steps.OpenStep] = field(default_factory=list)
    corrections: list[str] = field(default_factory=list)
    cap_wd: int | None = None
    used_wd: int = 0
    paused_wd: int = 0
    pauses: list[PauseView] = field(default_factory=list)
    decisions: list[DecisionView] = field(default_factory=list)
    issued: list[IssuedView] = field(default_factory=list)
    finished: bool = False

    @property
    def remaining_wd(self) -> int | None:
        return None if self.cap_wd is None else self.cap_wd - self.used_wd

    @property
    def percent(self) -> int:
        return 0 if not self.cap_wd else min(100, round(100 * self.used_wd / self.cap_wd))


def stage_path(semantics: Semantics, bpmn_id: str) -> list[str]:
    """Names of the subprocesses around an element, outermost first; a single wrapper around the whole
    approval (the stages' container) is left out."""
    path = []
    parent = semantics.parents.get(bpmn_id)
    while parent:
        if semantics.elements.get(parent) in ("subProcess", "transaction", "adHocSubProcess"):
            path.append(semantics.names.get(parent, parent))
        parent = semantics.parents.get(parent)
    path.reverse()
    if len(semantics.stages) == 1 and path and path[0] == semantics.names.get(semantics.stages[0]):
        path = path[1:]
    return path


def _state(app: Application, instance: ProcessInstance | None, variables: dict[str, Any],
           open_tasks: list[HumanTask], applicant_steps: list[steps.OpenStep]) -> tuple[str, str, bool]:
    if instance is None:
        return ("draft", "未提交（草稿）", False) if app.status == "draft" else ("discarded", "已删除", True)
    outcome = variables.get("approval_outcome")
    if outcome in OUTCOMES:
        return outcome, OUTCOMES[outcome], True
    if instance.status == InstanceStatus.TERMINATED:
        return "terminated", "已终止", True
    if instance.status == InstanceStatus.SUSPENDED:
        return "suspended_admin", "暂停办理（系统维护）", False
    waiting = {s.bpmn_id for s in applicant_steps}
    if "correction" in waiting:
        return "correction", "待补正材料", False
    if "rongque_suspended" in waiting:
        return "suspended", "审批中止：待补交容缺材料", False
    if waiting & {"design_revision", "drawing_revision"}:
        return "revising", "待提交修改后的设计文件", False
    if any(t.bpmn_id == INTAKE_TASK for t in open_tasks):
        return "intake", "受理审查中", False
    if not any(t.bpmn_id != steps.WITHDRAW for t in open_tasks):
        return "processing", "正在办理（材料核验或文书制作中）", False
    return "reviewing", "审批中", False


def decisions(session: Session, instance_id: str, variables: dict[str, Any]) -> list[DecisionView]:
    """Every decision taken so far; `review` marks the departments' reviews (a user task with a committed
    limit, DESIGN.md §6) apart from the window's intake and the applicant's own steps."""
    reviews = {t.bpmn_id for t in session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id))
               if sla_rules.is_review(t) and "window" not in (t.candidate_groups or [])}
    out = []
    for o in projects.opinions(session, instance_id):
        decision = o.data.get("decision") or o.data.get("conclusion") or o.data.get("action")
        if decision is None:
            continue
        out.append(DecisionView(o.name or o.bpmn_id, o.departments, DECISIONS.get(str(decision), str(decision)),
                                str(o.data.get("opinion") or ""), o.completed_at, False,
                                o.bpmn_id in reviews))
    cancelled = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.status == HumanTaskStatus.CANCELLED,
                                                        HumanTask.bpmn_id.like("review_%")))
    for task in cancelled:
        opinion = variables.get(f"opinion_{task.bpmn_id.removeprefix('review_')}")
        if isinstance(opinion, dict) and opinion.get("deemed"):
            at = opinion.get("deemed_at")
            out.append(DecisionView(task.name or task.bpmn_id, list(task.candidate_groups or []), "视为同意",
                                    str(opinion.get("opinion") or ""),
                                    datetime.fromisoformat(at) if isinstance(at, str) else None, True, True))
    return sorted(out, key=lambda d: (d.at is None, d.at or datetime.min))


def issued(session: Session, instance_id: str) -> list[IssuedView]:
    """Numbered notices and permits of the instance, with their PDF (when rendered) and verification code."""
    docs = {d.subject_id: d for d in session.scalars(select(Document).where(Document.instance_id == instance_id,
                                                                              Document.subject_id.is_not(None)))}
    rows: list[IssuedView] = []
    for n in session.scalars(select(Notice).where(Notice.instance_id == instance_id)):
        doc = docs.get(n.id)
        rows.append(IssuedView("notice", n.title, n.number, n.created_at, doc.id if doc else None,
                               doc.verification_code if doc else None))
    for p in session.scalars(select(Permit).where(Permit.instance_id == instance_id)):
        doc = docs.get(p.id)
        rows.append(IssuedView("permit", p.title, p.number, p.issued_at, doc.id if doc else None,
                               doc.verification_code if doc else None, p.revoked_at is not None))
    return sorted(rows, key=lambda r: (r.kind != "permit", -r.at.timestamp(), r.number))  # permits first, newest first


def progress(session: Session, ctx: EngineContext, app: Application, calendar: WorkCalendar,
             now: datetime) -> Progress:
    instance = session.get(ProcessInstance, app.instance_id) if app.instance_id else None
    if instance is None:
        state, label, finished = _state(app, None, {}, [], [])
        return Progress(state, label, finished=finished)
    definition = session.get(ProcessDefinition, instance.definition_id)
    assert definition is not None
    semantics = parse_semantics(definition.source_xml.encode("utf-8"), file=definition.file_name)
    variables = current_variables(session, ctx, instance.id)
    open_tasks = list(projects.open_tasks(session, instance.id))
    waiting = steps.open_steps(session, app)
    state, label, finished = _state(app, instance, variables, open_tasks, waiting)
    events = session.scalars(select(InstanceEvent).where(InstanceEvent.chain == instance.id)
                             .order_by(InstanceEvent.seq)).all()
    cap = reports.cap_row(instance, definition, events, calendar, now, semantics)
    current = []
    for task in open_tasks:
        if task.bpmn_id == steps.WITHDRAW or task.bpmn_id in steps.STEPS:
            continue
        s = sla(task, now, calendar)
        current.append(CurrentStep(task.name or task.bpmn_id, list(task.candidate_groups or []),
                                   stage_path(semantics, task.bpmn_id), s.due_at, s.remaining_wd, s.light, s.paused))
    stages = list(dict.fromkeys(c.stage_path[0] for c in current if c.stage_path))
    pauses = [PauseView(PAUSE_REASONS.get(p.reason, p.reason or "—"),
                        semantics.names.get(p.bpmn_id or "", p.bpmn_id), p.paused_at, p.resumed_at)
              for p in cap.pauses]
    decision = variables.get("intake_decision")
    corrections = [str(c) for c in (decision or {}).get("corrections") or []] if isinstance(decision, dict) else []
    return Progress(
        state, label, project_code=variables.get("project_code"), stages=stages, steps=current,
        applicant_steps=waiting, corrections=corrections if state == "correction" else [], cap_wd=cap.cap_wd,
        used_wd=cap.used_wd, paused_wd=cap.paused_wd, pauses=pauses,
        decisions=decisions(session, instance.id, variables), issued=issued(session, instance.id),
        finished=finished)
