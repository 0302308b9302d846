"""Projects: the list (scoped like the API) and one project's page with its current steps, opinions and
history; admins suspend, resume or terminate it there, always with a stated reason."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, g, redirect, render_template, request, url_for

from engine.api.session import ctx, get_session, now, unit_of_work
from engine.auth import policy
from engine.auth.roles import Role
from engine.errors import Conflict
from engine.models import InstanceStatus
from engine.services import diagrams, history, instances, projects
from engine.services.inbox import sla
from engine.web.opinions import opinion_rows
from engine.web.pages import calendar, page_blueprint
from engine.web.i18n import gettext as _

bp = page_blueprint("projects", __name__)

STATUSES = tuple(s.value for s in InstanceStatus)
EVENT_LABELS = {
    "instance:started": "项目受理", "instance:advanced": "流程推进", "instance:completed": "办结",
    "instance:suspended": "挂起", "instance:resumed": "恢复", "instance:terminated": "终止",
    "instance:incident": "异常", "task:created": "环节开始", "task:claimed": "签收", "task:unclaimed": "退回待办",
    "task:completed": "提交意见", "task:cancelled": "环节取消", "task:transferred": "转办",
    "task:deemed_approved": "超时默认同意", "task:draft_saved": "保存草稿", "timer:scheduled": "计时开始",
    "timer:fired": "计时到期", "timer:cancelled": "计时取消", "clock:paused": "暂停计时", "clock:resumed": "恢复计时",
}


@bp.get("/projects")
def index() -> Any:
    session = get_session()
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    search = (request.args.get("q") or "").strip()[:100]
    rows = projects.list_projects(session, only_ids=policy.instance_ids_in_scope(session, g.principal),
                                  status=status, search=search)
    return render_template("projects.html", rows=rows, status=status, search=search)


@bp.get("/projects/<instance_id>")
def show(instance_id: str) -> Any:
    session = get_session()
    p = g.principal
    instance = instances.get_instance(session, instance_id)
    policy.require_instance(session, p, instance)
    if p.has(Role.APPLICANT) and instance.started_by == p.username:
        g.unmasked = True  # an applicant sees their own numbers
    summary = projects.summaries(session, [instance])[0]
    work_calendar = calendar()
    current = [(task, sla(task, now(), work_calendar)) for task in projects.open_tasks(session, instance_id)]
    events = history.list_events(session, instance_id)
    return render_template("project.html", project=summary, instance=instance, current=current,
                           opinions=opinion_rows(session, instance_id), events=events,
                           event_labels=EVENT_LABELS, is_admin=p.has(Role.ADMIN))


@bp.get("/projects/<instance_id>/diagram.svg")
def diagram(instance_id: str) -> Response:
    """The process diagram with this project's path and current position, for the project page's <img>."""
    session = get_session()
    policy.require_instance(session, g.principal, instances.get_instance(session, instance_id))
    response = Response(diagrams.instance_svg(session, instance_id), mimetype="image/svg+xml")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/projects/<instance_id>/suspend", defaults={"action": "suspend"})
@bp.post("/projects/<instance_id>/resume", defaults={"action": "resume"})
@bp.post("/projects/<instance_id>/terminate", defaults={"action": "terminate"})
def repair(instance_id: str, action: str) -> Any:
    reason = (request.form.get("reason") or "").strip()[:500]
    if not reason:
        flash(_("请填写操作原因，原因将记入项目历史。"), "error")
        return redirect(url_for("projects.show", instance_id=instance_id))
    try:
        _repair(instance_id, action, reason)
    except Conflict as exc:
        flash(exc.detail, "error")
    else:
        flash(_("操作已完成并记入历史。"))
    return redirect(url_for("projects.show", instance_id=instance_id))


@unit_of_work
def _repair(instance_id: str, action: str, reason: str) -> None:
    session, actor = get_session(), g.principal.username
    if action == "terminate":
        instances.terminate(session, ctx(), instance_id, actor=actor, now=now(), reason=reason)
    else:
        instances.set_suspended(session, ctx(), instance_id, action == "suspend", actor=actor, now=now(),
                                reason=reason)
