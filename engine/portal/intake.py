"""The window's completeness decision (行政许可法 art 32) on an application: accept, accept with gaps (容缺),
a one-time notice of everything to correct (一次性告知补正), or refusal with reasons. It completes the process's
`completeness_decision` task with the form's data; the process numbers and sends the written notice.

容缺 is accepted only for what the applicant committed to in writing: the missing materials chosen must be
covered by the application's signed 容缺受理承诺书, and its due date is the commitment's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, FieldError, FormInvalid
from engine.models import Application, HumanTask, HumanTaskStatus
from engine.portal import commitments, variables
from engine.services import human_tasks
from engine.services.context import EngineContext

TASK = "completeness_decision"
DECISIONS = {"accept": "受理", "accept_with_gaps": "容缺受理", "correct": "一次性告知补正", "refuse": "不予受理"}


@dataclass(frozen=True)
class IntakeCheck:
    """What the process's material check found (variables `intake_check`, `credit`), for the clerk."""

    task_id: str | None
    missing_primary: list[str]
    missing_secondary: list[str]
    rongque_eligible: bool
    commitment_eligible: bool
    blacklisted: bool


def pending_check(session: Session, ctx: EngineContext, app: Application) -> IntakeCheck | None:
    """The open decision task with the check behind it, or None when no decision is waiting."""
    if not app.instance_id:
        return None
    task = session.scalars(select(HumanTask).where(HumanTask.instance_id == app.instance_id,
                                                   HumanTask.bpmn_id == TASK,
                                                   HumanTask.status == HumanTaskStatus.OPEN)).first()
    if task is None:
        return None
    data = variables.current(session, ctx, app.instance_id)
    check: dict[str, Any] = data.get("intake_check") or {}
    credit: dict[str, Any] = data.get("credit") or {}
    return IntakeCheck(task.id, list(check.get("missing_primary") or []), list(check.get("missing_secondary") or []),
                       bool(check.get("rongque_eligible")), bool(check.get("commitment_eligible")),
                       bool(credit.get("blacklisted")))


def decide(session: Session, ctx: EngineContext, app: Application, data: dict[str, Any], *, actor: str,
           now: datetime) -> str:
    """Complete the decision task; returns the decision's label. Bad data changes nothing."""
    check = pending_check(session, ctx, app)
    if check is None or check.task_id is None:
        raise Conflict("没有待作出的受理决定（已决定，或材料核验尚未完成）")
    decision = data.get("decision")
    if decision == "accept_with_gaps":
        chosen = set(data.get("missing_secondary") or [])
        promised = {code for c in commitments.signed(session, app.id) if c.kind == "rongque" for code in c.materials}
        uncovered = sorted(chosen - promised)
        if uncovered:
            raise FormInvalid([FieldError("missing_secondary",
                                          f"容缺材料：{'、'.join(uncovered)} 不在申请人签署的容缺受理承诺书中，"
                                          "请先由申请人签署承诺书，或按一次性告知补正办理")])
    human_tasks.complete(session, ctx, check.task_id, data, actor=actor, now=now)
    return DECISIONS.get(str(decision), str(decision))


def form_data(form: Any) -> dict[str, Any]:
    """The decision form's fields as the task's form data (empty fields left out, so the schema names them)."""
    decision = (form.get("decision") or "").strip()
    data: dict[str, Any] = {"decision": decision} if decision else {}
    if decision == "accept_with_gaps":
        data["missing_secondary"] = form.getlist("missing_secondary")
        due = (form.get("rongque_due_wd") or "").strip()
        if due:
            data["rongque_due_wd"] = int(due) if due.isdigit() else due
    if decision == "correct":
        lines = [line.strip() for line in (form.get("corrections") or "").splitlines() if line.strip()]
        data["corrections"] = lines
    if decision == "refuse" and (form.get("reasons") or "").strip():
        data["reasons"] = form.get("reasons", "").strip()
    if (form.get("opinion") or "").strip():
        data["opinion"] = form.get("opinion", "").strip()
    return data
