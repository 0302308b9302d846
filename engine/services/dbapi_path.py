"""The command path's prebuilt statements run on the DB-API connection, with SQL compiled once.

Why: `Connection.execute` of a prebuilt Core statement whose compiled form SQLAlchemy has cached still costs
~30-100 us of Python per call (cache key, execution context, parameter processing, result object) against ~5-40 us
in sqlite3 itself, and a command runs ~10 such statements (issue 14). On PostgreSQL the same work was ~15% of a
command's CPU in the client beside the round trips (py-spy of approval_9), and the result object alone 8%. Here a
statement is compiled once per (statement, keys given) for the connection's dialect; a call binds the values
through the same bind processors (a datetime becomes SQLite's text or stays aware for psycopg, JSON is encoded or
wrapped), runs it on the sqlite3 or psycopg connection (`execute`, `executemany`), and a read (a SELECT, or a
statement with RETURNING: the job claim) converts its columns with the same result processors into named tuples.

Only where nothing is lost; anywhere else `Connection.execute` as before:
- SQLite through sqlite3, PostgreSQL through psycopg 3;
- inside a transaction SQLAlchemy began (sqlite3 itself would run the statement in autocommit mode), with no
  connection events (statement counters, tracing) and no echo: they would not see the statement;
- a statement that needs nothing but the values given and its own constants: no Python-side default or onupdate,
  no IN list expanded at execution, result columns named like attributes; RETURNING only through `query`
  (`execute` gives a row count, not rows; on PostgreSQL a write is compiled as for an executemany, so an INSERT
  does not fetch its generated key back, which nothing here reads).
A DB-API error is raised as SQLAlchemy raises it (`DBAPIError.instance`: OperationalError, IntegrityError, ...
with the driver's exception as `orig`), so a locked database or a conflict is still a retried conflict; a
PostgreSQL error that means the connection is gone invalidates it, as SQLAlchemy does.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, DateTime, Delete, Insert, Result, Select, Update
from sqlalchemy.exc import DBAPIError, MultipleResultsFound

Dml = Insert | Update | Delete
Processor = Callable[[Any], Any] | None


class _Plan:
    """A statement compiled for SQLite: its SQL, each parameter's name and processor, the values of the statement's
    own literals by name, and for a read the row type and each column's processor. Bound positionally."""

    __slots__ = ("columns", "constants", "names", "processors", "row", "sql")

    def __init__(self, sql: str, names: tuple[str, ...], constants: dict[str, Any], processors: tuple[Processor, ...],
                 row: type | None = None, columns: tuple[Processor, ...] = ()) -> None:
        self.sql, self.names, self.constants, self.processors = sql, names, constants, processors
        self.row, self.columns = row, columns

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        if self.constants:
            values = {**self.constants, **values}
        return tuple([values[name] if process is None else process(values[name])
                      for name, process in zip(self.names, self.processors)])


class PgPlan(_Plan):
    """The same, compiled for psycopg: bound by name."""

    __slots__ = ()

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any]:  # type: ignore[override]
        if self.constants:
            values = {**self.constants, **values}
        return {name: values[name] if process is None else process(values[name])
                for name, process in zip(self.names, self.processors)}


class Rows(list[Any]):
    """A read's rows (named tuples), with the part of SQLAlchemy's Result API the command path uses."""

    def all(self) -> list[Any]:
        return list(self)

    def one_or_none(self) -> Any:
        if len(self) > 1:
            raise MultipleResultsFound("Multiple rows were found when one or none was required")
        return self[0] if self else None


# (id(statement), keys) -> (the statement, its plan or None where it needs SQLAlchemy). Statements are module-level
# constants (core_rows, event_batch, execution, ...): the table keeps each alive, so an id is not reused. One plan
# serves every SQLite engine: the engine's are all created with SQLAlchemy's default SQLite dialect settings.
_PLANS: dict[tuple[int, tuple[str, ...]], tuple[Any, _Plan | None]] = {}
# The same for PostgreSQL (every engine uses the default psycopg dialect settings): writes compiled as for an
# executemany (services/pg_pipeline.py runs them too), reads as they are.
_PG_WRITES: dict[tuple[int, tuple[str, ...]], tuple[Any, PgPlan | None]] = {}
_PG_READS: dict[tuple[int, tuple[str, ...]], tuple[Any, PgPlan | None]] = {}


def execute(connection: Connection, statement: Dml, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> int:
    """Run `statement` with `params` (one row, or several with the same keys: executemany); the rowcount."""
    many = not isinstance(params, Mapping)
    if many and not params:
        return 0  # no rows, nothing to run (SQLAlchemy would run the statement once without values: deprecated)
    first: Mapping[str, Any] = params[0] if many else params  # type: ignore[index,assignment]
    raw = _sqlite(connection)
    if raw is None:
        pg = psycopg_connection(connection)
        plan = pg_write_plan(connection, statement, tuple(first)) if pg is not None else None
        if plan is not None:
            return _pg_execute(connection, pg, plan, params, many)
    plan = _plan(connection, statement, tuple(first)) if raw is not None else None
    if plan is None or plan.row is not None:  # a RETURNING's rows are read by `query`
        return connection.execute(statement, list(params) if many else params).rowcount  # type: ignore[arg-type]
    try:
        if many:
            cursor = raw.executemany(plan.sql, [plan.bind(values) for values in params])  # type: ignore[union-attr]
        else:
            cursor = raw.execute(plan.sql, plan.bind(first))  # type: ignore[union-attr]
    except sqlite3.Error as exc:
        raise _wrapped(connection, plan.sql, params, exc, many) from exc
    return cursor.rowcount


def query(connection: Connection, statement: Select[Any] | Dml, params: Mapping[str, Any]) -> Rows | Result[Any]:
    """Run the SELECT, or the statement with RETURNING, `statement` with `params`: its rows, named by column."""
    raw = _sqlite(connection)
    if raw is None:
        pg = psycopg_connection(connection)
        plan = cached_plan(_PG_READS, connection, statement, tuple(params), _pg_compile) if pg is not None else None
        if plan is None or plan.row is None:
            return connection.execute(statement, params)
        fetched = _pg_fetch(connection, pg, plan, params)
    else:
        plan = _plan(connection, statement, tuple(params))
        if plan is None or plan.row is None:
            return connection.execute(statement, params)
        try:
            fetched = raw.execute(plan.sql, plan.bind(params)).fetchall()
        except sqlite3.Error as exc:
            raise _wrapped(connection, plan.sql, params, exc, False) from exc
    make, columns = plan.row._make, plan.columns  # a read's plan has its row type
    if not any(columns):
        return Rows(map(make, fetched))
    return Rows([make([value if process is None else process(value)
                       for value, process in zip(row, columns)]) for row in fetched])


def _wrapped(connection: Connection, sql: str, params: Any, exc: sqlite3.Error, many: bool) -> DBAPIError:
    return DBAPIError.instance(sql, params, exc, sqlite3.Error, dialect=connection.dialect,  # type: ignore[return-value]
                               ismulti=many)


def _pg_execute(connection: Connection, raw: Any, plan: PgPlan, params: Any, many: bool) -> int:
    import psycopg

    try:
        with raw.cursor() as cursor:
            if many:
                cursor.executemany(plan.sql, [plan.bind(values) for values in params])
            else:
                cursor.execute(plan.sql, plan.bind(params))
            return cursor.rowcount
    except psycopg.Error as exc:
        raise pg_error(connection, plan.sql, params, exc, many) from exc


def _pg_fetch(connection: Connection, raw: Any, plan: PgPlan, params: Mapping[str, Any]) -> list[Any]:
    import psycopg

    try:
        with raw.cursor() as cursor:
            cursor.execute(plan.sql, plan.bind(params))
            return cursor.fetchall()
    except psycopg.Error as exc:
        raise pg_error(connection, plan.sql, params, exc, False) from exc


def pg_error(connection: Connection, sql: str, params: Any, exc: Exception, many: bool) -> DBAPIError:
    """A psycopg error as SQLAlchemy raises it; a lost connection is invalidated first, as SQLAlchemy does."""
    import psycopg

    raw = connection.connection.dbapi_connection
    gone = connection.dialect.is_disconnect(exc, raw, None)
    if gone:
        connection.invalidate(exc)
    wrapped = DBAPIError.instance(sql, params, exc, psycopg.Error, dialect=connection.dialect, ismulti=many,
                                  connection_invalidated=gone)
    return wrapped  # type: ignore[return-value]


def psycopg_connection(connection: Connection) -> Any:
    """The psycopg connection under `connection`, if statements may bypass SQLAlchemy on it."""
    if connection.dialect.name != "postgresql" or connection.dialect.driver != "psycopg" \
            or connection._has_events or connection.engine._has_events or connection._echo or connection.closed \
            or connection.invalidated or not connection.in_transaction():
        return None
    return connection.connection.dbapi_connection


def pg_write_plan(connection: Connection, statement: Any, keys: tuple[str, ...]) -> PgPlan | None:
    """A write's plan for psycopg (None where it needs SQLAlchemy), compiled as for an executemany even for one row:
    a single-row INSERT would fetch its generated key back (RETURNING), which nothing here reads."""
    return cached_plan(_PG_WRITES, connection, statement, keys, _pg_compile_write)


def _pg_compile_write(connection: Connection, statement: Any, keys: tuple[str, ...]) -> PgPlan | None:
    if isinstance(statement, Select):
        return None
    return _compiled(connection, statement, keys, PgPlan, for_executemany=True)


def _pg_compile(connection: Connection, statement: Any, keys: tuple[str, ...]) -> PgPlan | None:
    return _compiled(connection, statement, keys, PgPlan)


def _with_row(plan: AnyPlan, compiled: Any, dialect: Any) -> AnyPlan | None:
    """`plan` with the row type and the result processors of the columns a read gives; None if a column is not
    named like an attribute."""
    fields = [column[0] for column in compiled._result_columns]
    if not _identifiers(fields):
        return None
    plan.columns = tuple(column[3]._cached_result_processor(dialect, None) for column in compiled._result_columns)
    plan.row = namedtuple("Row", fields)  # type: ignore[misc]  # one class per statement, built once
    return plan


def _sqlite(connection: Connection) -> sqlite3.Connection | None:
    """The sqlite3 connection under `connection`, if a statement may bypass SQLAlchemy on it."""
    if connection.dialect.name != "sqlite" or connection._has_events or connection.engine._has_events \
            or connection._echo or connection.closed or connection.invalidated or not connection.in_transaction():
        return None  # outside a transaction SQLAlchemy would BEGIN first (IMMEDIATE: engine/db.py)
    raw = connection.connection.dbapi_connection
    return raw if isinstance(raw, sqlite3.Connection) else None


Plan = TypeVar("Plan")
AnyPlan = TypeVar("AnyPlan", bound=_Plan)


def cached_plan(plans: dict[tuple[int, tuple[str, ...]], tuple[Any, Plan]], connection: Connection, statement: Any,
                keys: tuple[str, ...], compile_: Callable[[Connection, Any, tuple[str, ...]], Plan]) -> Plan:
    """`compile_(connection, statement, keys)`, once per (statement, keys) in `plans` (keyed by the statement's id
    and checked by identity: the statements are module-level constants, so an id is not reused)."""
    key = (id(statement), keys)
    found = plans.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    plan = compile_(connection, statement, keys)
    plans[key] = (statement, plan)
    return plan


def _plan(connection: Connection, statement: Any, keys: tuple[str, ...]) -> _Plan | None:
    return cached_plan(_PLANS, connection, statement, keys, _compile)


def _compile(connection: Connection, statement: Any, keys: tuple[str, ...]) -> _Plan | None:
    return _compiled(connection, statement, keys, _Plan)


def _compiled(connection: Connection, statement: Any, keys: tuple[str, ...], kind: type[AnyPlan],
              for_executemany: bool = False) -> AnyPlan | None:
    """`statement` compiled for the connection's dialect into a plan of `kind` (sqlite3's `_Plan`, bound by position,
    or psycopg's `PgPlan`, by name); None where it needs SQLAlchemy (see the module's docstring). A write compiled
    `for_executemany` has no plan if it returns rows."""
    dialect = connection.dialect
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=for_executemany)
    by_name = kind is PgPlan
    if compiled.positional == by_name or (by_name and compiled.escaped_bind_names) or compiled.insert_prefetch \
            or compiled.update_prefetch or compiled.post_compile_params or compiled.literal_execute_params:
        return None
    names = tuple(compiled.binds) if by_name else tuple(compiled.positiontup or ())
    constants = literal_values(compiled, names, keys)
    if constants is None:
        return None
    processors = tuple(_bind_processor(compiled, name) for name in names)
    plan = kind(compiled.string, names, constants, processors)
    if not isinstance(statement, Select) and not compiled.effective_returning:
        return plan
    if for_executemany:
        return None  # a write with RETURNING: its rows are read by `query`
    return _with_row(plan, compiled, dialect)


def _bind_processor(compiled: Any, name: str) -> Processor:
    """The bind processor of parameter `name`; a datetime's keeps its last value and result (`_last_kept`)."""
    process, bind = compiled._bind_processors.get(name), compiled.binds.get(name)
    if process is None or bind is None or bind.type._type_affinity is not DateTime:
        return process
    return _last_kept(process)


def _last_kept(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`process` answering again for the very object it was last given. A command binds its `now` in most of its
    rows (events, task and timer rows, the instance), and each bind converted it anew: UTC, naive on SQLite,
    then formatted as text (issue 14: ~1.6% of approval_9's time). A datetime cannot change, and the pair is
    replaced whole, so a thread sees a value beside its own result."""
    last: tuple[Any, Any] = (_NOTHING, None)

    def kept(value: Any) -> Any:
        nonlocal last
        seen = last
        if seen[0] is value:
            return seen[1]
        result = process(value)
        last = (value, result)
        return result

    return kept


_NOTHING = object()


def literal_values(compiled: Any, names: tuple[str, ...], keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The values of the compiled statement's own literals (`status == 'open'`) by parameter name, for the names
    not among the caller's `keys`; None if one is a value SQLAlchemy would fill in (or refuse)."""
    constants = {}
    for name in names:
        if name in keys:
            continue
        bind = compiled.binds.get(name)
        if bind is None or bind.callable is not None or bind.value is None:
            return None
        constants[name] = bind.value
    return constants


def _identifiers(fields: list[str]) -> bool:
    return (bool(fields) and len(set(fields)) == len(fields)
            and all(field.isidentifier() and not field.startswith("_") for field in fields))
