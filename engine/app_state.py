"""What the app owns: settings, database engine, session factory, clock, engine context."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from engine import gc_policy
from engine.clock import Clock, SystemClock
from engine.config import Settings
from engine.db import make_db_engine, make_session_factory
from engine.services.context import EngineContext

log = logging.getLogger(__name__)


@dataclass
class AppState:
    settings: Settings
    db_engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    ctx: EngineContext


def audit_key(settings: Settings) -> bytes:
    """The HMAC key for history heads: from the environment/config, else `var/audit.key` (created once, 0600)."""
    if settings.audit.hmac_key:
        return settings.audit.hmac_key.encode()
    path = settings.path(settings.paths.var) / "audit.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        log.warning("created audit HMAC key %s; set APPROVALS_AUDIT__HMAC_KEY in production", path)
    return Path(path).read_text().strip().encode()


def build_state(settings: Settings, clock: Clock | None = None) -> AppState:
    gc_policy.tune()  # engine processes allocate heavily and cache workflows (engine/gc_policy.py)
    db_engine = make_db_engine(settings)
    sessions = make_session_factory(db_engine)
    if clock is None:
        # Simulated time lives in the database so that server, scheduler and workers share it.
        from engine.db_clock import DatabaseClock

        clock = DatabaseClock(sessions) if settings.clock.mode == "simulated" else SystemClock()
    return AppState(
        settings=settings,
        db_engine=db_engine,
        sessions=sessions,
        clock=clock,
        ctx=EngineContext(settings=settings, hmac_key=audit_key(settings)),
    )
