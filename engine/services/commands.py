"""Run a command in its own transaction, re-applying it on a version conflict (DESIGN.md §3.1, §6).

A conflict means another command changed the instance between our read and our write (StaleDataError from
the version counter) or the database refused the lock; the command is reloaded and re-applied from scratch.
After `ATTEMPTS` conflicts the caller gets `Busy` (HTTP 503 with Retry-After).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import Busy

ATTEMPTS = 3
T = TypeVar("T")
log = logging.getLogger(__name__)

_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, IntegrityError):
        # Two first events racing for the same new chain head: the loser re-applies.
        return "chain_heads" in str(exc.orig) or "instance_events" in str(exc.orig)
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            return True
        return "database is locked" in str(exc.orig) or "database table is locked" in str(exc.orig)
    return False


def run_command(sessions: sessionmaker[Session], fn: Callable[[Session], T], *, attempts: int = ATTEMPTS) -> T:
    """`fn(session)` inside `with sessions.begin()`, retried on conflicts; never commits partial work."""
    for attempt in range(1, attempts + 1):
        try:
            with sessions.begin() as session:
                return fn(session)
        except Exception as exc:
            if not is_retryable(exc):
                raise
            log.info("command conflict, re-applying", extra={"attempt": attempt, "error": type(exc).__name__})
    raise Busy(f"the instance is being changed by others; gave up after {attempts} attempts", retry_after=1)
