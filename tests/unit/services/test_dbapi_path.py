"""The command path's statements on the sqlite3 connection (services/dbapi_path.py): each writes and reads exactly
what `Connection.execute` does, errors come out as SQLAlchemy's, and whatever the fast path cannot do exactly (a
listener, a Python-side default, an IN list, another database) goes through SQLAlchemy."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Column, Connection, MetaData, String, Table, bindparam, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError, MultipleResultsFound, OperationalError

from engine.dto import DefinitionOut
from engine.models import ChainHead, Timer, TimerStatus
from engine.services import dbapi_path, jobs
from engine.services.core_rows import _insert, _update
from engine.services.event_batch import _LOCK_HEAD
from engine.services.execution import _WAITING_TIMERS
from engine.services.job_rows import _OPEN_JOBS
from tests.conftest import engine_state
from tests.unit.services.test_core_rows import _instance_with_tasks

NOW = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC)


def _timer(instance_id: str, **values: Any) -> dict[str, Any]:
    row = {"id": str(uuid.uuid4()), "instance_id": instance_id, "spiff_task_id": str(uuid.uuid4()),
           "bpmn_id": "deadline", "due_at": NOW + timedelta(days=3), "calendar": "workdays", "provisional": True,
           "status": TimerStatus.WAITING, "created_at": NOW.astimezone(timezone(timedelta(hours=8))),
           "fired_at": None, "pausable": True, "paused_on": date(2026, 3, 4),
           "basis": {"anchor": "2026-03-02", "days": 5, "eod": True, "法定": ["节假日"]}}
    row.update(values)
    return row


def _stored(connection: Connection, timer_id: str) -> tuple[Any, ...]:
    row = connection.execute(select(Timer.__table__).where(Timer.id == timer_id)).one()
    return tuple(row)[1:]  # all but the id


def test_writes_store_what_sqlalchemy_stores(app: Flask, deploy: Callable[..., DefinitionOut],
                                             run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        ours, theirs = _timer(instance_id), _timer(instance_id)
        theirs["spiff_task_id"] = ours["spiff_task_id"]
        assert dbapi_path._plan(connection, _insert(Timer.__table__), tuple(ours)) is not None  # the fast path
        assert dbapi_path.execute(connection, _insert(Timer.__table__), [ours]) == 1
        connection.execute(_insert(Timer.__table__), [theirs])
        assert _stored(connection, ours["id"]) == _stored(connection, theirs["id"])
        changes = {"status": TimerStatus.FIRED, "fired_at": NOW, "basis": None, "paused_on": None}
        assert dbapi_path.execute(connection, _update(Timer.__table__), {"row_id": ours["id"], **changes}) == 1
        connection.execute(_update(Timer.__table__), {"row_id": theirs["id"], **changes})
        assert _stored(connection, ours["id"]) == _stored(connection, theirs["id"])
        assert _stored(connection, ours["id"])[8] == NOW  # fired_at read back aware, in UTC
        # executemany: several rows, one statement
        many = [_timer(instance_id, bpmn_id=f"t{i}") for i in range(3)]
        dbapi_path.execute(connection, _insert(Timer.__table__), many)
        assert {row.bpmn_id for row in connection.execute(select(Timer.bpmn_id).where(
            Timer.id.in_([row["id"] for row in many])))} == {"t0", "t1", "t2"}


def test_rowcount_is_the_rows_matched(app: Flask, deploy: Callable[..., DefinitionOut],
                                     run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        row = _timer(instance_id)
        dbapi_path.execute(connection, _insert(Timer.__table__), row)
        assert dbapi_path.execute(connection, _update(Timer.__table__), {"row_id": row["id"], "bpmn_id": "x"}) == 1
        assert dbapi_path.execute(connection, _update(Timer.__table__), {"row_id": "none", "bpmn_id": "x"}) == 0
        assert dbapi_path.execute(connection, _insert(Timer.__table__), []) == 0


def test_reads_give_the_rows_sqlalchemy_gives(app: Flask, deploy: Callable[..., DefinitionOut],
                                              run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)  # 9 reviews, each with a waiting deadline timer
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        added = _timer(instance_id)
        dbapi_path.execute(connection, _insert(Timer.__table__), [added])  # JSON, a date, booleans
        ours = dbapi_path.query(connection, _WAITING_TIMERS, {"instance_id": instance_id})
        theirs = connection.execute(_WAITING_TIMERS, {"instance_id": instance_id}).all()
        assert isinstance(ours, dbapi_path.Rows) and len(ours) == 10
        assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
        assert [row._asdict() for row in ours] == [row._asdict() for row in theirs]  # the same names
        assert [[type(value) for value in row] for row in ours] == [[type(value) for value in row] for row in theirs]
        mine = next(row for row in ours if row.id == added["id"])
        assert mine.due_at == added["due_at"] and mine.due_at.tzinfo is not None
        assert (mine.basis, mine.paused_on, mine.pausable) == (added["basis"], date(2026, 3, 4), True)
        assert dbapi_path.query(connection, _WAITING_TIMERS, {"instance_id": "none"}).one_or_none() is None
        with pytest.raises(MultipleResultsFound):
            ours.one_or_none()
        assert dbapi_path.query(connection, _LOCK_HEAD, {"chain": instance_id}).one_or_none() == \
            connection.execute(_LOCK_HEAD, {"chain": instance_id}).one_or_none()


def test_a_returning_gives_the_rows_sqlalchemy_gives(app: Flask, deploy: Callable[..., DefinitionOut],
                                                   run_jobs: Callable[..., int]) -> None:
    """An UPDATE ... RETURNING runs on the sqlite3 connection too (the job claim is one): the rows converted and
    named as SQLAlchemy's, and the update made."""
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    table = Timer.__table__
    statement = (update(table).where(table.c.instance_id == bindparam("iid"))
                 .values(status=bindparam("new_status"), fired_at=bindparam("at"))
                 .returning(table.c.id, table.c.due_at, table.c.fired_at, table.c.basis,
                            select(func.count()).where(table.c.instance_id == bindparam("iid"))
                            .scalar_subquery().label("together")))
    params = {"iid": instance_id, "new_status": TimerStatus.FIRED, "at": NOW}
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        assert dbapi_path._plan(connection, statement, tuple(params)).row is not None  # type: ignore[union-attr]
        ours = dbapi_path.query(connection, statement, params)
        assert isinstance(ours, dbapi_path.Rows) and len(ours) == 9
        assert {row.fired_at for row in ours} == {NOW} and {row.together for row in ours} == {9}
        assert {row.status for row in connection.execute(select(table.c.status).where(
            table.c.instance_id == instance_id))} == {TimerStatus.FIRED}
        theirs = connection.execute(statement, params).all()  # the same update again, through SQLAlchemy
        assert sorted(tuple(row) for row in ours) == sorted(tuple(row) for row in theirs)
        assert sorted(row._asdict()["id"] for row in ours) == sorted(row._asdict()["id"] for row in theirs)
        assert [[type(value) for value in row] for row in ours] == [[type(value) for value in row] for row in theirs]
        claim = jobs._claim_statement(("bench.*", "review"), False)  # the claim takes this path
        assert dbapi_path._plan(connection, claim, ("now", "worker", "max_jobs", "lock_0", "lock_1")) is not None


def test_an_in_list_goes_through_sqlalchemy(app: Flask, deploy: Callable[..., DefinitionOut],
                                            run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        assert dbapi_path._plan(connection, _OPEN_JOBS, ("instance_id",)) is None  # expanded at execution
        assert dbapi_path.query(connection, _OPEN_JOBS, {"instance_id": instance_id}).all() == \
            connection.execute(_OPEN_JOBS, {"instance_id": instance_id}).all()


def test_a_python_side_default_goes_through_sqlalchemy(app: Flask, deploy: Callable[..., DefinitionOut],
                                                       run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        row = _timer(instance_id)
        del row["calendar"], row["provisional"]  # the model's defaults fill these in
        assert dbapi_path._plan(connection, _insert(Timer.__table__), tuple(row)) is None
        dbapi_path.execute(connection, _insert(Timer.__table__), row)
        stored = connection.execute(select(Timer.calendar, Timer.provisional).where(Timer.id == row["id"])).one()
        assert tuple(stored) == ("natural", False)


def test_a_listener_sees_every_statement(app: Flask) -> None:
    db_engine = engine_state(app).db_engine
    seen: list[str] = []
    event.listen(db_engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: seen.append(statement))
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        head = {"chain": "c", "last_seq": 1, "last_hash": "h", "signature": "s", "updated_at": NOW}
        dbapi_path.execute(connection, _insert(ChainHead.__table__), head)
        assert dbapi_path.query(connection, _LOCK_HEAD, {"chain": "c"}).one().last_seq == 1
    assert [statement.split()[0] for statement in seen] == ["INSERT", "SELECT"]


def test_errors_are_sqlalchemys(app: Flask) -> None:
    state = engine_state(app)
    head = {"chain": "c", "last_seq": 1, "last_hash": "h", "signature": "s", "updated_at": NOW}
    with state.sessions.begin() as session:
        dbapi_path.execute(session.connection(), _insert(ChainHead.__table__), head)
    with pytest.raises(IntegrityError) as raised, state.sessions.begin() as session:
        dbapi_path.execute(session.connection(), _insert(ChainHead.__table__), head)
    assert isinstance(raised.value.orig, sqlite3.IntegrityError) and "INSERT INTO chain_heads" in raised.value.statement
    with state.sessions.begin() as session:  # the failed transaction left nothing behind
        assert session.execute(select(ChainHead.last_seq)).scalars().all() == [1]


def test_outside_a_transaction_sqlalchemy_begins_it(app: Flask) -> None:
    with engine_state(app).db_engine.connect() as connection:  # nothing begun yet: sqlite3 would autocommit
        assert dbapi_path._sqlite(connection) is None
        head = {"chain": "c", "last_seq": 1, "last_hash": "h", "signature": "s", "updated_at": NOW}
        dbapi_path.execute(connection, _insert(ChainHead.__table__), head)
        assert connection.in_transaction()
        assert dbapi_path._sqlite(connection) is not None
        connection.rollback()
        assert connection.execute(select(ChainHead.chain)).all() == []


def test_a_database_error_is_sqlalchemys(app: Flask) -> None:
    missing = Table("not_created", MetaData(), Column("id", String, primary_key=True))
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        with pytest.raises(OperationalError) as raised:
            dbapi_path.execute(connection, insert(missing), {"id": "x"})
    assert isinstance(raised.value.orig, sqlite3.OperationalError) and "no such table" in str(raised.value)


def test_a_datetime_bound_again_converts_as_it_did(app: Flask) -> None:
    # A plan's datetime processors keep their last value and result (a command binds its `now` in many rows):
    # whatever the order of values, each converts as SQLAlchemy's own processor converts it.
    with engine_state(app).sessions.begin() as session:
        connection = session.connection()
        plan = dbapi_path._plan(connection, _update(Timer.__table__), ("row_id", "fired_at", "bpmn_id"))
        assert plan is not None
        process = plan.processors[plan.names.index("fired_at")]
        stock = Timer.__table__.c.fired_at.type._cached_bind_processor(connection.dialect)
        assert process is not stock and plan.processors[plan.names.index("bpmn_id")] is None
        east = NOW.astimezone(timezone(timedelta(hours=8)))
        later = NOW + timedelta(microseconds=1)
        for value in (NOW, NOW, east, NOW, None, later, later, east, NOW):
            assert process(value) == stock(value)
        assert process(NOW) == "2026-03-02 09:30:15.123456" and process(east) == process(NOW)
        with pytest.raises(ValueError, match="naive"):  # refused, however often an aware one came before
            process(NOW.replace(tzinfo=None))
        assert process(later) == "2026-03-02 09:30:15.123457"
