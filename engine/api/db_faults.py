"""Database faults at the HTTP boundary (DESIGN.md §3.1, issue 13).

A database that is down, locked by another process past the busy timeout, or full is not an internal error: the
request changed nothing, and the client should try again later. So these answer 503 `database-unavailable` with
`Retry-After` (or 507 `storage-full`) instead of a 500, through the normal error routing of the route (problem+json
for /api, Camunda's body for /engine-rest, an error page for the web). Nothing needs a restart afterwards: the
SQLite connection is reused once the lock is gone, and PostgreSQL connections are re-checked before use
(`pool_pre_ping`), so the next request after an outage reconnects.

Only faults are translated: an OperationalError that is a bug (SQLite's "no such table", a syntax error) stays a 500.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from engine.errors import DatabaseUnavailable, EngineError, StorageFull

# SQLite messages that mean "not now" (another process holds the lock, the file cannot be opened or read).
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database file",
                       "disk i/o error")
_SQLITE_FULL = ("database or disk is full",)
# PostgreSQL SQLSTATE: connection exception (08…), operator intervention (57P…), lock not available, out of
# resources other than disk (53…).
_PG_UNAVAILABLE_PREFIXES = ("08", "57P")
_PG_UNAVAILABLE = {"55P03", "53000", "53200", "53300", "53400"}
_PG_FULL = {"53100"}  # disk_full

LOCKED_RETRY_AFTER = 2
DOWN_RETRY_AFTER = 5


def translate(exc: DBAPIError) -> EngineError | None:
    """The problem a database fault means to a client, or None if the error is not a fault (a bug)."""
    message = str(exc.orig).lower()
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate in _PG_FULL or any(m in message for m in _SQLITE_FULL):
        return StorageFull("the database has no room left: nothing was changed; an operator must free space "
                           "(the engine keeps running and accepts commands again once there is room)")
    if "locked" in message or sqlstate == "55P03":
        return DatabaseUnavailable("the database is locked by another process: nothing was changed; retry shortly",
                                   retry_after=LOCKED_RETRY_AFTER)
    if (exc.connection_invalidated or sqlstate.startswith(_PG_UNAVAILABLE_PREFIXES) or sqlstate in _PG_UNAVAILABLE
            or any(m in message for m in _SQLITE_UNAVAILABLE)
            or (not sqlstate and exc.orig.__class__.__module__.startswith("psycopg"))):  # could not connect
        return DatabaseUnavailable("the database cannot be reached: nothing was changed; retry shortly",
                                   retry_after=DOWN_RETRY_AFTER)
    return None


class UnexpectedDatabaseError(Exception):
    """A database error that is a bug, not a fault: the route's generic 500 handling logs and answers it."""


def _handle(exc: DBAPIError) -> Any:
    problem: Exception | None = translate(exc)
    if problem is None:
        # Handled inside Flask's `except` block: the 500 handler logs the original traceback.
        problem = UnexpectedDatabaseError(f"{type(exc).__name__}: {exc.orig}")
    return current_app.handle_user_exception(problem)  # the route's own error rendering


def register(target: Flask | Blueprint) -> None:
    """On the app, and on blueprints with a catch-all handler of their own (which would otherwise win)."""
    for error in (OperationalError, InterfaceError):
        target.register_error_handler(error, _handle)


def init_app(app: Flask) -> None:
    register(app)
