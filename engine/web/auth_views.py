"""Sign in, sign out, language switch, and the home page that sends each role to its start page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for

from engine.api.session import ctx, get_session, now, unit_of_work
from engine.auth import accounts
from engine.auth.roles import Role
from engine.calendar import SHANGHAI
from engine.web import identity
from engine.web.i18n import LOCALES
from engine.web.i18n import gettext as _
from engine.web.pages import page_blueprint

bp = page_blueprint("auth", __name__, static_folder="static", static_url_path="/web-static")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: an open redirect would let a phishing link bounce through our login page."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.get("/login")
def login() -> Any:
    if g.get("principal") is not None:
        return redirect(url_for("auth.home"))
    expired = request.args.get("expired") == "1"
    return render_template("login.html", next=request.args.get("next", ""), expired=expired, username="")


@bp.post("/login")
def login_post() -> Any:
    username = (request.form.get("username") or "").strip()
    password = request.form.get("password") or ""
    outcome = _authenticate(username, password)
    if not outcome.ok:
        if outcome.reason == "locked":
            until = outcome.locked_until.astimezone(SHANGHAI).strftime("%H:%M") if outcome.locked_until else ""
            message = _("连续登录失败次数过多，账户已锁定，请于 %(time)s 后重试或联系管理员。", time=until)
        elif outcome.reason == "disabled":
            message = _("账户已停用，请联系管理员。")
        else:
            message = _("用户名或密码错误。")
        return render_template("login.html", error=message, next=request.form.get("next", ""),
                               username=username), 401
    assert outcome.user is not None
    identity.sign_in(outcome.user)
    return redirect(safe_next(request.form.get("next"), url_for("auth.home")))


@unit_of_work
def _authenticate(username: str, password: str) -> accounts.LoginOutcome:
    # Committed whatever the outcome: failures count towards the lock-out and are logged.
    return accounts.authenticate(get_session(), ctx(), username, password, now=now(),
                                 remote_addr=request.remote_addr)


@bp.post("/logout")
def logout() -> Any:
    principal = g.principal
    _record_logout(principal.username)
    identity.sign_out()
    flash(_("您已安全退出。"))
    return redirect(url_for("auth.login"))


@unit_of_work
def _record_logout(username: str) -> None:
    accounts.record_logout(get_session(), ctx(), username, now=now(), why="user")


@bp.get("/lang/<code>")
def language(code: str) -> Any:
    if code in LOCALES:
        session["lang"] = code
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    back = parts.path + (f"?{parts.query}" if parts.query else "") if parts.netloc == request.host else ""
    return redirect(safe_next(back, url_for("auth.home")))


@bp.get("/")
def home() -> Any:
    p = g.principal
    if p.has(Role.CLERK):
        return redirect(url_for("inbox.index"))
    if p.has(Role.LEADER):
        return redirect(url_for("dashboard.index"))
    if p.has(Role.APPLICANT) and not p.has(Role.AUDITOR, Role.ADMIN):
        return redirect(url_for("portal.home"))  # the applicants' portal (issue 8)
    if p.has(Role.AUDITOR, Role.ADMIN, Role.APPLICANT):
        return redirect(url_for("projects.index"))
    if p.has(Role.DESIGNER):
        return redirect(url_for("dashboard.definitions"))
    return render_template("error.html", status=200, message=_("此账户没有可用的页面（服务任务账户请使用 API）。"))
