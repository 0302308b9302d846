"""Several prebuilt writes on PostgreSQL in one round trip: psycopg's pipeline mode, one sync for all of them.

Why: a command ends with its history rows, written as one UPDATE of the chain head and two executemany INSERTs
(events, checkpoints): three round trips to the server, each also through SQLAlchemy's execute path. Sent in one
pipeline they cost one round trip and none of SQLAlchemy's per-statement work (issue 14). Each statement is
compiled once per (statement, keys given) for the connection's dialect; a call binds the values through the same
bind processors (a datetime in UTC, JSON wrapped for psycopg), exactly as SQLAlchemy would.

Only where nothing is lost, as services/dbapi_path.py does for SQLite: PostgreSQL through psycopg 3, inside a
transaction SQLAlchemy began, no connection events (statement counters, tracing) and no echo; writes that need
nothing but the values given and their own constants (no Python-side default, no RETURNING, no expanded IN).
Anywhere else `run` returns False and the caller executes them as before. A DB-API error is raised as SQLAlchemy
raises it (`DBAPIError.instance`: IntegrityError, OperationalError, ... with the driver's exception as `orig`), so
a conflict is still retried; the transaction is aborted then, as after any failed statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Delete, Insert, Update
from sqlalchemy.exc import DBAPIError

from engine.services import dbapi_path

Dml = Insert | Update | Delete
Step = tuple[Dml, Mapping[str, Any] | Sequence[Mapping[str, Any]]]  # a statement and one row or several
Processor = Callable[[Any], Any] | None


class _Plan:
    """A write compiled for the connection's dialect: its SQL (named parameters), each parameter's name and
    processor, and the values of the statement's own literals."""

    __slots__ = ("constants", "names", "processors", "sql")

    def __init__(self, sql: str, names: tuple[str, ...], constants: dict[str, Any],
                 processors: tuple[Processor, ...]) -> None:
        self.sql, self.names, self.constants, self.processors = sql, names, constants, processors

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:
        if self.constants:
            values = {**self.constants, **values}
        return {name: values[name] if process is None else process(values[name])
                for name, process in zip(self.names, self.processors)}


# (id(statement), keys) -> (the statement, its plan or None where it needs SQLAlchemy), as dbapi_path's table. One
# plan serves every PostgreSQL engine (all use the default psycopg dialect settings).
_PLANS: dict[tuple[int, tuple[str, ...]], tuple[Any, _Plan | None]] = {}


def run(connection: Connection, steps: Sequence[Step]) -> bool:
    """Run every step in one pipeline, in order; False (nothing run) where this path does not apply."""
    raw = _psycopg(connection)
    if raw is None:
        return False
    planned = []
    for statement, params in steps:
        many = not isinstance(params, Mapping)
        if many and not params:
            continue
        first: Mapping[str, Any] = params[0] if many else params  # type: ignore[index,assignment]
        plan = _plan(connection, statement, tuple(first))
        if plan is None:
            return False
        planned.append((plan, params, many))
    if not planned:
        return True
    import psycopg

    current = planned[0]
    try:
        with raw.pipeline(), raw.cursor() as cursor:
            for current in planned:
                plan, params, many = current
                if many:
                    cursor.executemany(plan.sql, [plan.bind(values) for values in params])
                else:
                    cursor.execute(plan.sql, plan.bind(params))  # type: ignore[arg-type]
    except psycopg.Error as exc:  # raised at the sync: the first statement that failed is not known here
        raise DBAPIError.instance(current[0].sql, current[1], exc, psycopg.Error,  # type: ignore[arg-type]
                                  dialect=connection.dialect, ismulti=current[2]) from exc
    return True


def _psycopg(connection: Connection) -> Any:
    """The psycopg connection under `connection`, if writes may bypass SQLAlchemy on it."""
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg" \
            or connection._has_events or connection.engine._has_events or connection._echo or connection.closed \
            or connection.invalidated or not connection.in_transaction():
        return None
    return connection.connection.dbapi_connection


def _plan(connection: Connection, statement: Any, keys: tuple[str, ...]) -> _Plan | None:
    return dbapi_path.cached_plan(_PLANS, connection, statement, keys, _compile)


def _compile(connection: Connection, statement: Any, keys: tuple[str, ...]) -> _Plan | None:
    # As for an executemany, even for one row: a single-row INSERT would fetch the generated key back (RETURNING),
    # which nothing here reads.
    compiled = statement.compile(dialect=connection.dialect, column_keys=list(keys), for_executemany=True)
    if compiled.positional or compiled.insert_prefetch or compiled.update_prefetch or compiled.post_compile_params \
            or compiled.literal_execute_params or compiled.effective_returning or compiled.escaped_bind_names:
        return None
    names = tuple(compiled.binds)
    constants = dbapi_path.literal_values(compiled, names, keys)
    if constants is None:
        return None
    processors = tuple(compiled._bind_processors.get(name) for name in names)
    return _Plan(compiled.string, names, constants, processors)
