"""Server-rendered web pages for clerks, leaders, auditors and admins (Flask + Jinja, no JavaScript build).

`init_app` wires: the session secret, Flask-Login, CSRF on every form (Flask-WTF), the language switch,
template filters, the route access rules shared with the API (engine/auth/routes.py) and the blueprints.
Other teams' page blueprints (e.g. the auditor pages) extend templates/base.html and are covered by the same
access hook through their entry in the route table.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from flask import Flask, Response, g, redirect, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from engine.api.access import check_access, is_api_path
from engine.api.session import state
from engine.auth import accounts
from engine.auth.departments import load_departments
from engine.auth.policy import needs_personal_data
from engine.config import Settings
from engine.errors import Unauthenticated
from engine.services.commands import run_command
from engine.web import formatting, i18n, identity
from engine.web.pages import WebState, csrf_error

log = logging.getLogger(__name__)
csrf = CSRFProtect()
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def secret_key(settings: Settings) -> str:
    """`[security] secret_key` from the environment, else `var/secret.key`, created once with mode 0600."""
    if settings.security.secret_key:
        return settings.security.secret_key
    path = settings.path(settings.paths.var) / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        log.warning("created session secret %s; set APPROVALS_SECURITY__SECRET_KEY in production", path)
    return Path(path).read_text().strip()


def _before_page_request() -> Response | None:
    """CSRF first (even for the sign-in form), then the idle timeout, then the route's access rule."""
    if is_api_path(request.path) or request.url_rule is None:
        return None
    if request.method in UNSAFE:
        csrf.protect()
    if identity.idle_expired():
        _record_timeout(g.expired_user)
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?"), expired=1))
        raise Unauthenticated("the session has timed out")
    principal = identity.web_principal()
    g.principal = principal
    g.unmasked = principal is not None and needs_personal_data(principal)
    check_access(request.url_rule.rule, request.method, principal)
    return None


def _record_timeout(username: str) -> None:
    app_state = state()
    run_command(app_state.sessions, lambda db: accounts.record_logout(
        db, app_state.ctx, username, now=app_state.clock.now(), why="idle timeout"))


def _security_headers(response: Response) -> Response:
    if not is_api_path(request.path):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    settings = state_settings(app)
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.security.cookie_secure,
        SESSION_COOKIE_NAME="approvals_session",
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in _before_page_request for pages; the API uses tokens
        WTF_CSRF_TIME_LIMIT=None,      # the token lives as long as the session, which has its idle timeout
    )
    app.extensions["web"] = WebState(load_departments(settings.path(settings.paths.processes)))
    csrf.init_app(app)
    identity.init_app(app)
    i18n.init_app(app)
    formatting.init_app(app)
    app.before_request(_before_page_request)
    app.after_request(_security_headers)

    from engine.web import audit, auth_views, dashboard, inbox, projects, task_views

    for module in (auth_views, inbox, task_views, projects, dashboard, audit):
        app.register_blueprint(module.bp)
    from engine.web import portal  # applicants' portal, front window, documents, verification (issue 8)

    portal.init_app(app)
    app.register_error_handler(CSRFError, csrf_error)


def state_settings(app: Flask) -> Settings:
    return app.extensions["engine"].settings  # type: ignore[no-any-return]
