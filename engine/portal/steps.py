"""The applicant's own steps in the process, done online instead of at the window.

The processes model them as window tasks that register what the applicant handed in (登记补正材料, 登记容缺材料
补交, 登记修改后的设计方案/施工图, 登记撤回申请). Online, the applicant's upload is the hand-in: the portal stores
the files and completes that task as the applicant, with the same form data a clerk would enter — recorded in
history under the applicant's name — so the window re-checks the materials where the process says it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.calendar import SHANGHAI
from engine.documents.store import DocumentStore
from engine.documents.uploads import CheckedFile
from engine.errors import Conflict, FieldError, FormInvalid
from engine.models import Application, HumanTask, HumanTaskStatus, Timer, TimerStatus
from engine.portal import applications
from engine.services import human_tasks
from engine.services.context import EngineContext


@dataclass(frozen=True)
class Step:
    title: str
    purpose: str  # the uploaded documents' purpose
    due_timer: str | None = None  # the boundary timer whose due date the applicant must meet


STEPS: dict[str, Step] = {
    "correction": Step("补正材料（一次性告知补正）", "correction"),
    "rongque_supply": Step("补交容缺材料", "supply", "rongque_due"),
    "rongque_suspended": Step("补交容缺材料（审批已中止）", "supply", "rongque_return"),
    "design_revision": Step("提交修改后的设计方案", "revision"),
    "drawing_revision": Step("提交修改后的施工图", "revision"),
}
WITHDRAW = "withdraw"


@dataclass(frozen=True)
class OpenStep:
    task_id: str
    bpmn_id: str
    title: str
    created_at: datetime
    due_at: datetime | None


def open_steps(session: Session, app: Application) -> list[OpenStep]:
    if not app.instance_id:
        return []
    tasks = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == app.instance_id, HumanTask.status == HumanTaskStatus.OPEN,
        HumanTask.bpmn_id.in_(list(STEPS))).order_by(HumanTask.created_at)).all()
    dues = {t.bpmn_id: t.due_at for t in session.scalars(select(Timer).where(
        Timer.instance_id == app.instance_id, Timer.status == TimerStatus.WAITING,
        Timer.bpmn_id.in_([s.due_timer for s in STEPS.values() if s.due_timer])))}
    out = []
    for task in tasks:
        step = STEPS[task.bpmn_id]
        out.append(OpenStep(task.id, task.bpmn_id, step.title, task.created_at,
                            dues.get(step.due_timer) if step.due_timer else None))
    return out


def wanted_materials(variables: dict[str, Any], bpmn_id: str) -> list[str]:
    """The material codes this step asks for: what the window's check found missing (补正), what the 容缺
    decision deferred (补交); revisions may touch any material."""
    if bpmn_id == "correction":
        check = variables.get("intake_check") or {}
        return [*(check.get("missing_primary") or []), *(check.get("missing_secondary") or [])]
    if bpmn_id in ("rongque_supply", "rongque_suspended"):
        return list((variables.get("intake_decision") or {}).get("missing_secondary") or [])
    return []


def can_withdraw(session: Session, app: Application) -> bool:
    return app.status == applications.DRAFT or _withdraw_task(session, app) is not None


def _withdraw_task(session: Session, app: Application) -> HumanTask | None:
    if not app.instance_id:
        return None
    return session.scalars(select(HumanTask).where(
        HumanTask.instance_id == app.instance_id, HumanTask.bpmn_id == WITHDRAW,
        HumanTask.status == HumanTaskStatus.OPEN)).first()


def _task_data(bpmn_id: str, codes: list[str], note: str, action: str, now: datetime) -> dict[str, Any]:
    if bpmn_id == "correction":
        data: dict[str, Any] = {"action": action}
        if action == "supplied":
            data["materials"] = codes
        if note:
            data["note"] = note
        return data
    if bpmn_id in ("rongque_supply", "rongque_suspended"):
        data = {"materials": codes, "received_on": now.astimezone(SHANGHAI).date().isoformat()}
        return {**data, "note": note} if note else data
    return {"summary": note, "materials": codes}


def answer(session: Session, ctx: EngineContext, store: DocumentStore, app: Application, task_id: str,
           files: Sequence[CheckedFile], *, note: str, action: str, limits: applications.Limits, actor: str,
           channel: str, now: datetime, on_write: Callable[[str], None]) -> str:
    """Store the applicant's files and complete the step as the applicant; returns the step's title."""
    task = session.get(HumanTask, task_id)
    if task is None or task.instance_id != app.instance_id or task.bpmn_id not in STEPS:
        raise Conflict("这一步不需要申请人办理，或不属于本申请")
    if task.status != HumanTaskStatus.OPEN:
        raise Conflict("这一步已经办理完毕，无需重复提交")
    note = note.strip()[:1000]
    step = STEPS[task.bpmn_id]
    if action not in ("supplied", "abandon") or (action == "abandon" and task.bpmn_id != "correction"):
        raise FormInvalid([FieldError("action", "办理方式：请选择“提交补正材料”或“放弃申请”")])
    codes: list[str] = []
    if action == "supplied":
        coded = [f for f in files if f.slot != "other"]
        if not coded:
            raise FormInvalid([FieldError("files", "材料：请至少按材料清单上传一份材料（未归类的“其他材料”不能单独作为补正）")])
        if task.bpmn_id.endswith("_revision") and len(note) < 2:
            raise FormInvalid([FieldError("note", "修改说明：请说明按审查意见作了哪些修改")])
        applications.add_files(session, ctx, store, app, files, purpose=step.purpose, limits=limits, actor=actor,
                               channel=channel, now=now, on_write=on_write)
        codes = list(dict.fromkeys(f.slot for f in coded))
    if task.assignee and task.assignee != actor:
        raise Conflict("窗口工作人员正在登记这一步，请稍后刷新查看")
    human_tasks.complete(session, ctx, task.id, _task_data(task.bpmn_id, codes, note, action, now), actor=actor,
                         now=now)
    return step.title


def withdraw(session: Session, ctx: EngineContext, app: Application, *, reason: str, confirmed: bool, actor: str,
             now: datetime) -> None:
    """撤回: a draft is simply discarded; a submitted application completes the process's withdrawal task (the
    process then sends the numbered 撤回申请确认书 and ends)."""
    reason = reason.strip()[:1000]
    errors = []
    if len(reason) < 2:
        errors.append(FieldError("reason", "撤回理由：请填写撤回理由（至少 2 个字）"))
    if not confirmed:
        errors.append(FieldError("confirmed", "确认：请勾选“确认撤回本申请”"))
    if errors:
        raise FormInvalid(errors)
    if app.status == applications.DRAFT:
        applications.discard(session, app)
        return
    task = _withdraw_task(session, app)
    if task is None:
        raise Conflict("当前无法撤回：申请已办结，或正在登记中（请稍后再试）")
    human_tasks.complete(session, ctx, task.id, {"reason": reason, "confirmed": True}, actor=actor, now=now)
