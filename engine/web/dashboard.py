"""The leaders' supervision dashboard and the designers' list of deployed process definitions."""

from __future__ import annotations

from typing import Any

from flask import g, render_template

from engine.api.session import get_session, now
from engine.auth import policy
from engine.services import deployments, supervision
from engine.web.pages import calendar, page_blueprint, web_state

bp = page_blueprint("dashboard", __name__)


@bp.get("/dashboard")
def index() -> Any:
    state = web_state()
    board = supervision.dashboard(get_session(), scope=policy.task_scope(g.principal),
                                  departments=state.departments, now=now(), calendar=calendar())
    return render_template("dashboard.html", board=board)


@bp.get("/definitions")
def definitions() -> Any:
    rows = deployments.list_definitions(get_session(), key=None, latest_only=False)
    return render_template("definitions.html", rows=rows)
