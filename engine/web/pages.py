"""What every page blueprint shares: its error pages (403, 404, CSRF refusals) and the web state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from engine.api.session import ctx, get_session
from engine.calendar import WorkCalendar
from engine.errors import EngineError, Forbidden, Unauthenticated
from engine.services import calendars
from engine.web.i18n import gettext as _


@dataclass
class WebState:
    departments: dict[str, str]


def web_state() -> WebState:
    return current_app.extensions["web"]  # type: ignore[no-any-return]


def calendar() -> WorkCalendar:
    """The working-day calendar with the schedules operators loaded (engine/services/calendars.py)."""
    return calendars.current(get_session(), ctx())


def error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status


def engine_error(exc: EngineError) -> Any:
    if isinstance(exc, Unauthenticated):
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if isinstance(exc, Forbidden):
        return error_page(403, _("您无权访问此页面或执行此操作。"))
    return error_page(exc.status, exc.detail)


def csrf_error(_exc: CSRFError) -> Any:
    return error_page(400, _("安全校验失败：表单缺少或带有无效的 CSRF 令牌，请刷新页面后重试。"))


def page_blueprint(name: str, import_name: str, **kwargs: Any) -> Blueprint:
    """A blueprint whose errors render as pages (the API's are problem+json)."""
    bp = Blueprint(name, import_name, template_folder="templates", **kwargs)
    bp.register_error_handler(EngineError, engine_error)
    bp.register_error_handler(CSRFError, csrf_error)
    return bp
