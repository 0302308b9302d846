"""services/dbapi_path.py's psycopg path on PostgreSQL: each statement writes and reads exactly what SQLAlchemy's
`Connection.execute` does (aware datetimes, JSON with Chinese text, enums, RETURNING), errors come out as
SQLAlchemy's, a lost connection is invalidated as SQLAlchemy invalidates it, and whatever the path cannot do
exactly (a listener, an IN list, a Python-side default) goes through SQLAlchemy. The SQLite module's listener test
runs here too, on PostgreSQL (the `settings` and `app` fixtures below)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import Column, MetaData, String, Table, bindparam, func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from engine.config import Settings
from engine.dto import DefinitionOut
from engine.models import ChainHead, Timer, TimerStatus
from engine.services import dbapi_path
from engine.services.core_rows import _insert, _update
from engine.services.event_batch import _LOCK_HEAD
from engine.services.execution import _WAITING_TIMERS
from engine.services.job_rows import _OPEN_JOBS
from tests.conftest import engine_state
from tests.unit.services.test_core_rows import _instance_with_tasks
from tests.unit.services.test_dbapi_path import (
    NOW,
    _stored,
    _timer,
    test_a_listener_sees_every_statement,  # noqa: F401  (rerun here)
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app


def _by_id(rows: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(row) for row in rows), key=lambda row: row[0])  # the id first


def test_writes_store_what_sqlalchemy_stores(app: Flask, deploy: Callable[..., DefinitionOut],
                                             run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        assert dbapi_path.psycopg_connection(connection) is not None
        ours, theirs = _timer(instance_id), _timer(instance_id)  # JSON with Chinese text, a date, aware datetimes
        theirs["spiff_task_id"] = ours["spiff_task_id"]
        assert dbapi_path.pg_write_plan(connection, _insert(Timer.__table__), tuple(ours)) is not None
        assert dbapi_path.execute(connection, _insert(Timer.__table__), ours) == 1
        connection.execute(_insert(Timer.__table__), [theirs])
        assert _stored(connection, ours["id"]) == _stored(connection, theirs["id"])
        changes = {"status": TimerStatus.FIRED, "fired_at": NOW, "basis": None, "paused_on": None}
        assert dbapi_path.execute(connection, _update(Timer.__table__), {"row_id": ours["id"], **changes}) == 1
        connection.execute(_update(Timer.__table__), {"row_id": theirs["id"], **changes})
        assert _stored(connection, ours["id"]) == _stored(connection, theirs["id"])
        many = [_timer(instance_id, bpmn_id=f"t{i}") for i in range(3)]
        assert dbapi_path.execute(connection, _insert(Timer.__table__), many) == 3  # executemany
        assert dbapi_path.execute(connection, _update(Timer.__table__), {"row_id": "none", "bpmn_id": "x"}) == 0
        assert dbapi_path.execute(connection, _insert(Timer.__table__), []) == 0


def test_reads_give_the_rows_sqlalchemy_gives(app: Flask, deploy: Callable[..., DefinitionOut],
                                              run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)  # 9 reviews, each with a waiting deadline timer
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        added = _timer(instance_id)
        dbapi_path.execute(connection, _insert(Timer.__table__), [added])
        ours = dbapi_path.query(connection, _WAITING_TIMERS, {"instance_id": instance_id})
        theirs = connection.execute(_WAITING_TIMERS, {"instance_id": instance_id}).all()
        assert isinstance(ours, dbapi_path.Rows) and len(ours) == 10
        assert _by_id(ours) == _by_id(theirs)
        assert [row._fields for row in ours] == [row._fields for row in theirs]  # the same names
        assert [list(map(type, row)) for row in _by_id(ours)] == [list(map(type, row)) for row in _by_id(theirs)]
        mine = next(row for row in ours if row.id == added["id"])
        assert mine.due_at == added["due_at"] and mine.due_at.tzinfo is not None
        assert (mine.basis, mine.paused_on, mine.pausable) == (added["basis"], date(2026, 3, 4), True)
        assert dbapi_path.query(connection, _WAITING_TIMERS, {"instance_id": "none"}).one_or_none() is None
        head = dbapi_path.query(connection, _LOCK_HEAD, {"chain": instance_id})  # SELECT ... FOR UPDATE
        assert isinstance(head, dbapi_path.Rows)
        assert head.one_or_none() == connection.execute(_LOCK_HEAD, {"chain": instance_id}).one_or_none()


def test_a_returning_gives_the_rows_sqlalchemy_gives(app: Flask, deploy: Callable[..., DefinitionOut],
                                                   run_jobs: Callable[..., int]) -> None:
    """An UPDATE ... RETURNING (the job claim is one) through `query`; `execute` leaves it to SQLAlchemy."""
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    table = Timer.__table__
    statement = (update(table).where(table.c.instance_id == bindparam("iid"))
                 .values(status=bindparam("new_status"), fired_at=bindparam("at"))
                 .returning(table.c.id, table.c.due_at, table.c.fired_at, table.c.basis, table.c.status,
                            select(func.count()).where(table.c.instance_id == bindparam("iid"))
                            .scalar_subquery().label("together")))
    params = {"iid": instance_id, "new_status": TimerStatus.FIRED, "at": NOW}
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        assert dbapi_path.pg_write_plan(connection, statement, tuple(params)) is None  # rows, not a count
        ours = dbapi_path.query(connection, statement, params)
        assert isinstance(ours, dbapi_path.Rows) and len(ours) == 9
        assert {row.fired_at for row in ours} == {NOW} and {row.together for row in ours} == {9}
        assert {row.status for row in ours} == {TimerStatus.FIRED}
        theirs = connection.execute(statement, params).all()  # the same update again, through SQLAlchemy
        assert _by_id(ours) == _by_id(theirs) and ours[0]._fields == theirs[0]._fields
        assert [list(map(type, row)) for row in _by_id(ours)] == [list(map(type, row)) for row in _by_id(theirs)]
        assert dbapi_path.execute(connection, statement, params) == 9  # through SQLAlchemy: its rowcount


def test_what_needs_sqlalchemy_goes_through_it(app: Flask, deploy: Callable[..., DefinitionOut],
                                               run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        assert dbapi_path.query(connection, _OPEN_JOBS, {"instance_id": instance_id}).all() == \
            connection.execute(_OPEN_JOBS, {"instance_id": instance_id}).all()  # an IN list expanded at execution
        row = _timer(instance_id)
        del row["calendar"], row["provisional"]  # the model's defaults fill these in
        assert dbapi_path.pg_write_plan(connection, _insert(Timer.__table__), tuple(row)) is None
        dbapi_path.execute(connection, _insert(Timer.__table__), row)
        stored = connection.execute(select(Timer.calendar, Timer.provisional).where(Timer.id == row["id"])).one()
        assert tuple(stored) == ("natural", False)


def test_outside_a_transaction_sqlalchemy_begins_it(app: Flask) -> None:
    with engine_state(app).db_engine.connect() as connection:
        assert dbapi_path.psycopg_connection(connection) is None
        head = {"chain": "c", "last_seq": 1, "last_hash": "h", "signature": "s", "updated_at": NOW}
        dbapi_path.execute(connection, _insert(ChainHead.__table__), head)
        assert connection.in_transaction() and dbapi_path.psycopg_connection(connection) is not None
        connection.rollback()
        assert connection.execute(select(ChainHead.chain)).all() == []


def test_errors_are_sqlalchemys(app: Flask) -> None:
    state = engine_state(app)
    head = {"chain": "c", "last_seq": 1, "last_hash": "h", "signature": "s", "updated_at": NOW}
    with state.sessions.begin() as session:
        dbapi_path.execute(session.connection(), _insert(ChainHead.__table__), head)
    with pytest.raises(IntegrityError) as raised, state.sessions.begin() as session:
        dbapi_path.execute(session.connection(), _insert(ChainHead.__table__), head)
    assert isinstance(raised.value.orig, psycopg.errors.UniqueViolation)
    assert "INSERT INTO chain_heads" in raised.value.statement and not raised.value.connection_invalidated
    missing = Table("not_created", MetaData(), Column("id", String, primary_key=True))
    with pytest.raises(ProgrammingError) as raised, state.sessions.begin() as session:
        dbapi_path.query(session.connection(), select(missing.c.id).where(missing.c.id == bindparam("id")),
                         {"id": "x"})
    assert isinstance(raised.value.orig, psycopg.errors.UndefinedTable) and "not_created" in str(raised.value)
    with state.sessions.begin() as session:  # the failed transactions left nothing behind
        assert session.execute(select(ChainHead.last_seq)).scalars().all() == [1]


def test_a_lost_connection_is_invalidated(app: Flask) -> None:
    """As SQLAlchemy does on a disconnect: the error says so, the connection is invalidated (the pool replaces
    it), and the next transaction runs on a new one."""
    state = engine_state(app)
    head = {"chain": "c", "last_seq": 1, "last_hash": "h", "signature": "s", "updated_at": NOW}
    with state.sessions.begin() as session:
        connection = session.connection()
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with state.db_engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        with pytest.raises(OperationalError) as raised:
            dbapi_path.execute(connection, _insert(ChainHead.__table__), head)
        assert raised.value.connection_invalidated and connection.invalidated
        session.rollback()
    with state.sessions.begin() as session:
        dbapi_path.execute(session.connection(), _insert(ChainHead.__table__), head)
    with state.sessions.begin() as session:
        assert session.execute(select(ChainHead.last_seq)).scalars().all() == [1]
