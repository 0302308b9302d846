"""Web sign-in state: Flask-Login sessions, the idle timeout and the current principal of a page request.

The session cookie holds `"<user id>:<session epoch>"`; disabling a user or changing their password bumps
the epoch, so every cookie issued before stops working at once. The idle timeout is measured with the
injected clock (`session["seen"]`), not the browser's cookie expiry, so tests can move time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, g, session
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from engine.api.session import now, state
from engine.auth.accounts import principal_for
from engine.auth.roles import Principal
from engine.models import User


class WebUser(UserMixin):
    def __init__(self, user_id: int, epoch: int, principal: Principal) -> None:
        self.user_id, self.epoch, self.principal = user_id, epoch, principal

    def get_id(self) -> str:
        return f"{self.user_id}:{self.epoch}"


def _load_user(user_key: str) -> WebUser | None:
    try:
        user_id, epoch = (int(part) for part in user_key.split(":", 1))
    except ValueError:
        return None
    with state().sessions() as db:
        user = db.get(User, user_id)
        if user is None or user.session_epoch != epoch or user.disabled_at is not None:
            return None
        return WebUser(user.id, user.session_epoch, principal_for(user, via="session"))


def sign_in(user: User) -> None:
    """Start a fresh session (no fixation: whatever the cookie held before is dropped)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(WebUser(user.id, user.session_epoch, principal_for(user, via="session")))
    session["seen"] = now().isoformat()


def sign_out() -> None:
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang


def idle_expired() -> bool:
    """True (and signed out) when the signed-in session has been idle too long; else refresh `seen`."""
    if not current_user.is_authenticated:
        return False
    current = now()
    try:
        seen = datetime.fromisoformat(session.get("seen", ""))
    except ValueError:
        seen = None
    limit = timedelta(minutes=state().settings.security.session_idle_minutes)
    if seen is None or current - seen > limit:
        g.expired_user = current_user.principal.username
        sign_out()
        return True
    session["seen"] = current.isoformat()
    return False


def web_principal() -> Principal | None:
    return current_user.principal if current_user.is_authenticated else None


def init_app(app: Flask) -> None:
    manager = LoginManager()
    manager.user_loader(_load_user)
    manager.session_protection = "basic"
    manager.init_app(app)
