"""The inbox: my tasks and my departments' open tasks, with filter, sort and search."""

from __future__ import annotations

from typing import Any

from flask import g, render_template, request

from engine.api.session import get_session, now
from engine.auth import policy
from engine.auth.roles import Role
from engine.services import inbox as inbox_service
from engine.web.pages import calendar, page_blueprint, web_state

bp = page_blueprint("inbox", __name__)


@bp.get("/inbox")
def index() -> Any:
    p = g.principal
    scope = policy.task_scope(p)
    departments = web_state().departments
    choices = [code for code in departments if scope.everything or code in p.departments]
    view = request.args.get("view", "all")
    filters = {
        "view": view if view in inbox_service.VIEWS else "all",
        "department": request.args.get("department") or None,
        "search": (request.args.get("q") or "").strip()[:100] or None,
        "light": request.args.get("light") if request.args.get("light") in inbox_service.LIGHTS else None,
        "sort": request.args.get("sort") if request.args.get("sort") in inbox_service.SORTS else "due",
    }
    rows = inbox_service.inbox(get_session(), scope=scope, me=p.username, now=now(), calendar=calendar(),
                               **filters)
    return render_template("inbox.html", rows=rows, filters=filters, department_choices=choices,
                           can_work=p.has(Role.CLERK), me=p.username)
