"""Several prebuilt writes on PostgreSQL in one round trip: psycopg's pipeline mode, one sync for all of them.

Why: a command ends with its history rows, written as one UPDATE of the chain head and two executemany INSERTs
(events, checkpoints): three round trips to the server, each also through SQLAlchemy's execute path. Sent in one
pipeline they cost one round trip (issue 14). The statements are services/dbapi_path.py's psycopg plans: compiled
once per (statement, keys given), bound through SQLAlchemy's own bind processors (a datetime in UTC, JSON wrapped
for psycopg), exactly as SQLAlchemy would.

Only where dbapi_path's psycopg path applies: PostgreSQL through psycopg 3, inside a transaction SQLAlchemy began,
no connection events (statement counters, tracing) and no echo; writes that need nothing but the values given and
their own constants (no Python-side default, no RETURNING, no expanded IN). Anywhere else `run` returns False and
the caller executes them as before. A DB-API error is raised as SQLAlchemy raises it (`dbapi_path.pg_error`:
IntegrityError, OperationalError, ... with the driver's exception as `orig`), so a conflict is still retried; the
transaction is aborted then, as after any failed statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Delete, Insert, Update

from engine.services import dbapi_path

Dml = Insert | Update | Delete
Step = tuple[Dml, Mapping[str, Any] | Sequence[Mapping[str, Any]]]  # a statement and one row or several


def run(connection: Connection, steps: Sequence[Step]) -> bool:
    """Run every step in one pipeline, in order; False (nothing run) where this path does not apply."""
    raw = dbapi_path.psycopg_connection(connection)
    if raw is None:
        return False
    planned = []
    for statement, params in steps:
        many = not isinstance(params, Mapping)
        if many and not params:
            continue
        first: Mapping[str, Any] = params[0] if many else params  # type: ignore[index,assignment]
        plan = dbapi_path.pg_write_plan(connection, statement, tuple(first))
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
        raise dbapi_path.pg_error(connection, current[0].sql, current[1], exc, current[2]) from exc
    return True
