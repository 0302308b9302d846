"""The task page: the form rendered from its JSON Schema, earlier opinions, deadline; claim, release,
save a draft, complete (validated server-side, Chinese field messages) and transfer (转办)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from engine.api.session import ctx, get_session, now, unit_of_work
from engine.auth import accounts, policy
from engine.auth.roles import Principal
from engine.errors import Conflict, FormInvalid, Forbidden, InvalidInput
from engine.models import HumanTask, HumanTaskStatus, ProcessInstance
from engine.services import form_prefill, human_tasks, projects
from engine.services.inbox import sla
from engine.web import form_fields
from engine.web.opinions import opinion_rows
from engine.web.pages import calendar, page_blueprint
from engine.web.i18n import gettext as _

bp = page_blueprint("task_pages", __name__)


def _visible_task(task_id: str, *, work: bool = False) -> HumanTask:
    task = human_tasks.get_task(get_session(), task_id)
    policy.require_task(g.principal, task)
    if work:
        policy.require_task(g.principal, task, work=True)
    return task


def render_task(task: HumanTask, *, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Any:
    session = get_session()
    p: Principal = g.principal
    schema = human_tasks.form_schema(session, task)
    draft = human_tasks.get_draft(session, task.id)
    instance = session.get(ProcessInstance, task.instance_id)
    project = projects.summaries(session, [instance])[0] if instance else None
    is_open = task.status == HumanTaskStatus.OPEN
    can_work = is_open and policy.can_work_task(p, task) and task.assignee in (None, p.username)
    can_transfer = is_open and policy.can_transfer_task(p, task)
    colleagues = [u for u in accounts.colleagues(session, task.candidate_groups or [])
                  if u.username not in (task.assignee, p.username)] if can_transfer else []
    context = {
        "task": task, "project": project, "instance": instance, "schema": schema,
        "fields": form_fields.fields(schema),
        "values": values if values is not None else form_fields.prefill(
            schema, draft.data if draft else None,
            form_prefill.for_task(session, ctx(), task, schema) if is_open else None),  # x-prefill (issue 7)
        "errors": errors or {}, "draft": draft, "sla": sla(task, now(), calendar()),
        "opinions": opinion_rows(session, task.instance_id, exclude_task=task.id), "can_work": can_work, "can_transfer": can_transfer,
        "can_claim": is_open and policy.can_work_task(p, task) and task.assignee is None,
        "can_release": is_open and task.assignee == p.username, "colleagues": colleagues,
    }
    return render_template("task.html", **context), status


@bp.get("/tasks/<task_id>")
def show(task_id: str) -> Any:
    return render_task(_visible_task(task_id))


@bp.post("/tasks/<task_id>/complete")
def complete(task_id: str) -> Any:
    task = _visible_task(task_id, work=True)
    schema = human_tasks.form_schema(get_session(), task)
    data = form_fields.parse(schema, request.form)
    try:
        _complete(task_id, data)
    except FormInvalid as exc:
        errors = {e.field: e.message for e in exc.errors}
        flash(_("表单有 %(n)s 处需要修改，请查看标红的字段。", n=len(errors)), "error")
        return render_task(_visible_task(task_id), values=data, errors=errors, status=422)
    except Conflict as exc:
        flash(exc.detail, "error")
        return redirect(url_for("task_pages.show", task_id=task_id))
    flash(_("已提交「%(step)s」，项目已流转到下一环节。", step=task.name or task.bpmn_id))
    return redirect(url_for("inbox.index"))


@unit_of_work
def _complete(task_id: str, data: dict[str, Any]) -> None:
    human_tasks.complete(get_session(), ctx(), task_id, data, actor=g.principal.username, now=now())


@bp.post("/tasks/<task_id>/draft")
def draft(task_id: str) -> Any:
    task = _visible_task(task_id, work=True)
    data = form_fields.parse(human_tasks.form_schema(get_session(), task), request.form)
    _run(lambda: human_tasks.save_draft(get_session(), ctx(), task_id, data, actor=g.principal.username,
                                        now=now()), _("草稿已保存。"))
    return redirect(url_for("task_pages.show", task_id=task_id))


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> Any:
    _visible_task(task_id, work=True)
    _run(lambda: human_tasks.claim(get_session(), ctx(), task_id, actor=g.principal.username, now=now()),
         _("已签收，此任务由您办理。"))
    return redirect(_back(task_id))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str) -> Any:
    task = _visible_task(task_id, work=True)
    if task.assignee not in (None, g.principal.username):
        raise Forbidden(f"only {task.assignee} may release this task")
    _run(lambda: human_tasks.unclaim(get_session(), ctx(), task_id, actor=g.principal.username, now=now()),
         _("已退回到部门待办。"))
    return redirect(_back(task_id))


@bp.post("/tasks/<task_id>/transfer")
def transfer(task_id: str) -> Any:
    task = _visible_task(task_id)
    if not policy.can_transfer_task(g.principal, task):
        raise Forbidden(f"{g.principal.username} may not transfer task {task_id}")
    to_user = (request.form.get("assignee") or "").strip()
    reason = (request.form.get("reason") or "").strip()[:500]
    allowed = {u.username for u in accounts.colleagues(get_session(), task.candidate_groups or [])}
    if to_user not in allowed:
        flash(_("请选择本部门的一位在岗审批人员。"), "error")
        return redirect(url_for("task_pages.show", task_id=task_id))
    if not reason:
        flash(_("请填写转办原因。"), "error")
        return redirect(url_for("task_pages.show", task_id=task_id))
    ok = _run(lambda: human_tasks.transfer(get_session(), ctx(), task_id, to_user, actor=g.principal.username,
                                           now=now(), reason=reason), _("已转办给 %(user)s。", user=to_user))
    return redirect(url_for("inbox.index") if ok else url_for("task_pages.show", task_id=task_id))


def _run(command: Any, success: str) -> bool:
    """Run one command in its own transaction; a conflict or bad input becomes a flashed message."""
    try:
        unit_of_work(command)()
    except (Conflict, InvalidInput) as exc:
        flash(exc.detail, "error")
        return False
    flash(success)
    return True


def _back(task_id: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else url_for("task_pages.show",
                                                                                          task_id=task_id)
