"""Per-request session on `g` (flaskr's get_db shape) and the `@unit_of_work` decorator for mutating views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from engine import metrics
from engine.app_state import AppState
from engine.errors import Busy, EngineError
from engine.services.commands import ATTEMPTS, is_retryable
from engine.services.context import EngineContext

F = TypeVar("F", bound=Callable[..., Any])


def state() -> AppState:
    return cast(AppState, current_app.extensions["engine"])


def ctx() -> EngineContext:
    return state().ctx


def now() -> datetime:
    return state().clock.now()


def get_session() -> Session:
    if "session" not in g:
        g.session = state().sessions()
    return cast(Session, g.session)


def close_session(_exc: BaseException | None = None) -> None:
    session = g.pop("session", None)
    if session is not None:
        session.close()


def actor() -> str:
    """The signed-in caller's username (bearer token, or X-Actor in dev identity mode): see engine/api/access.py."""
    from engine.api.access import current_principal

    return current_principal().username


def _outcome(exc: BaseException) -> str:
    code = getattr(exc, "code", None)  # an HTTPException's status; SQLAlchemy errors carry a str code
    status = exc.status if isinstance(exc, EngineError) else code if isinstance(code, int) else 500
    return "rejected" if status < 500 else "failed"


def unit_of_work(view: F) -> F:
    """Run the view in one transaction; on a version conflict reload and re-apply it (bounded).
    Counted for /metrics as `approvals_commands_total{command=<endpoint>, outcome}`."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        command = request.endpoint or view.__name__
        for _attempt in range(ATTEMPTS):
            close_session()
            session = get_session()
            try:
                with session.begin():
                    result = view(*args, **kwargs)
                metrics.COMMANDS.inc(command=command, outcome="ok")
                return result
            except Exception as exc:
                if not is_retryable(exc):
                    metrics.COMMANDS.inc(command=command, outcome=_outcome(exc))
                    raise
                metrics.COMMAND_CONFLICTS.inc()
            finally:
                close_session()
        metrics.COMMANDS.inc(command=command, outcome="busy")
        raise Busy(f"gave up after {ATTEMPTS} conflicting attempts", retry_after=1)

    return cast(F, wrapper)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_session)
