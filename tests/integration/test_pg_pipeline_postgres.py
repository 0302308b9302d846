"""services/pg_pipeline.py on PostgreSQL: the writes land as SQLAlchemy's own execute would write them, in one
pipeline; a failure is SQLAlchemy's error (a conflict stays a retried IntegrityError); where the path does not
apply (listeners, RETURNING, SQLite), nothing is run and the caller's path takes over."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import Engine, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from engine.config import Settings
from engine.db import Base, make_db_engine
from engine.dto import DefinitionOut
from engine.models import ChainCheckpoint, ChainHead, EventKind, InstanceEvent
from engine.services import history, human_tasks, pg_pipeline
from engine.services.commands import run_command
from tests.conftest import HMAC_KEY, ROOT, engine_state
from tests.unit.services.test_core_rows import _instance_with_tasks

pytestmark = pytest.mark.postgres

_EVENTS, _HEADS, _CHECKPOINTS = InstanceEvent.__table__, ChainHead.__table__, ChainCheckpoint.__table__
_AT = datetime(2026, 11, 29, 20, 15, 1, 123456, tzinfo=timezone(timedelta(hours=8)))


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app


@pytest.fixture
def db_engine(postgres_settings: Settings) -> Iterator[Engine]:
    db_engine = make_db_engine(postgres_settings)
    Base.metadata.drop_all(db_engine)
    Base.metadata.create_all(db_engine)
    yield db_engine
    db_engine.dispose()


def _event(chain: str, seq: int, payload: Any) -> dict[str, Any]:
    return {"chain": chain, "instance_id": None, "seq": seq, "kind": "k", "at": _AT, "actor": "行政审批局",
            "payload": payload, "prev_hash": "0" * 64, "hash": f"{chain}-{seq}"}


def _head(chain: str, seq: int) -> dict[str, Any]:
    return {"chain": chain, "last_seq": seq, "last_hash": f"{chain}-{seq}", "signature": "s", "updated_at": _AT}


def _rows(db_engine: Engine, chain: str) -> tuple[list[Any], list[Any], list[Any]]:
    with db_engine.connect() as connection:
        events = connection.execute(select(*[c for c in _EVENTS.c if c.name != "id"]).where(_EVENTS.c.chain == chain)
                                    .order_by(_EVENTS.c.seq)).all()
        heads = connection.execute(select(_HEADS).where(_HEADS.c.chain == chain)).all()
        checkpoints = connection.execute(select(*[c for c in _CHECKPOINTS.c if c.name != "id"])
                                         .where(_CHECKPOINTS.c.chain == chain).order_by(_CHECKPOINTS.c.seq)).all()
    return events, heads, checkpoints


def _steps(chain: str) -> list[pg_pipeline.Step]:
    payloads = [{"task_id": "t1", "due_at": "2026-12-01T00:00:00Z", "部门": "住建局"}, {"nested": {"list": [1, 2.5, None]}}]
    return [(insert(_HEADS), _head(chain, 1)),
            (update(_HEADS).where(_HEADS.c.chain == chain), {"last_seq": 2, "last_hash": f"{chain}-2"}),
            (insert(_EVENTS), [_event(chain, seq, payload) for seq, payload in enumerate(payloads, 1)]),
            (insert(_CHECKPOINTS), [{"chain": chain, "seq": 1, "hash": "h", "signature": "s"}]),  # one row
            (insert(_EVENTS), [])]  # nothing to write


def test_the_pipeline_writes_what_sqlalchemy_writes(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        assert pg_pipeline.run(connection, _steps("piped"))
    with db_engine.begin() as connection:
        for statement, params in _steps("executed"):
            if params or isinstance(params, dict):
                connection.execute(statement, params)  # type: ignore[arg-type]
    piped, executed = _rows(db_engine, "piped"), _rows(db_engine, "executed")
    rename = {"piped": "executed", "piped-1": "executed-1", "piped-2": "executed-2"}
    assert [[tuple(rename.get(v, v) if isinstance(v, str) else v for v in row) for row in rows]
            for rows in piped] == [[tuple(row) for row in rows] for rows in executed]
    events, heads, _ = piped
    assert [e.seq for e in events] == [1, 2] and heads[0].last_seq == 2  # in order: the UPDATE after the INSERT
    assert events[0].at == _AT and events[0].at.tzinfo is not None
    assert events[0].payload["部门"] == "住建局" and events[1].payload == {"nested": {"list": [1, 2.5, None]}}


def test_a_conflict_is_sqlalchemy_s_integrity_error_and_writes_nothing(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        assert pg_pipeline.run(connection, [(insert(_EVENTS), [_event("c", 1, {})])])
    with pytest.raises(IntegrityError) as caught, db_engine.begin() as connection:
        pg_pipeline.run(connection, [(insert(_HEADS), _head("c", 2)),
                                     (insert(_EVENTS), [_event("c", 2, {}), _event("c", 1, {})])])  # seq 1 again
    assert isinstance(caught.value.orig, psycopg.errors.UniqueViolation)
    events, heads, _ = _rows(db_engine, "c")
    assert [e.seq for e in events] == [1] and heads == []  # the transaction rolled back whole


def test_where_the_path_does_not_apply_nothing_is_run(db_engine: Engine, tmp_path: Path) -> None:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with db_engine.begin() as connection:  # RETURNING: rows to read back
        assert not pg_pipeline.run(connection, [(insert(_HEADS), _head("r", 1)),
                                                (insert(_EVENTS).returning(_EVENTS.c.id), [_event("r", 1, {})])])
    event.listen(db_engine, "before_cursor_execute", count)
    try:  # a listener must see every statement
        with db_engine.begin() as connection:
            assert not pg_pipeline.run(connection, [(insert(_HEADS), _head("l", 1))])
    finally:
        event.remove(db_engine, "before_cursor_execute", count)
    with db_engine.connect() as connection:  # outside a transaction
        assert not pg_pipeline.run(connection, [(insert(_HEADS), _head("o", 1))])
    assert _rows(db_engine, "r") == ([], [], []) and _rows(db_engine, "l") == ([], [], [])
    sqlite = make_db_engine(_sqlite_settings(tmp_path))
    try:
        Base.metadata.create_all(sqlite)
        with sqlite.begin() as connection:
            assert not pg_pipeline.run(connection, [(insert(_HEADS), _head("s", 1))])
    finally:
        sqlite.dispose()


def _sqlite_settings(tmp_path: Path) -> Settings:
    from engine.config import load_settings

    return load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": f"sqlite:///{tmp_path}/p.sqlite3"}, "paths": {"var": str(tmp_path / "var")},
        "scheduler": {"enabled": False}, "workers": {"enabled": False}})


def test_a_naive_datetime_is_refused_as_sqlalchemy_refuses_it(db_engine: Engine) -> None:
    naive = {**_head("n", 1), "updated_at": datetime(2026, 11, 29)}  # naive: the point of the test
    with pytest.raises(Exception, match="naive datetime"), db_engine.begin() as connection:
        pg_pipeline.run(connection, [(insert(_HEADS), naive)])
    assert _rows(db_engine, "n")[1] == []


def test_the_command_path_writes_its_history_through_the_pipeline(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A clerk's completion on PostgreSQL takes this path (no statement listener on the engine), and the chain it
    writes verifies."""
    taken: list[bool] = []
    run = pg_pipeline.run

    def spy(connection: Any, steps: Any) -> bool:
        taken.append(run(connection, steps))
        return taken[-1]

    monkeypatch.setattr(pg_pipeline, "run", spy)
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:
        task = human_tasks.list_tasks(session, instance_id=instance_id)[0]
    taken.clear()
    run_command(state.sessions, lambda s: human_tasks.complete(s, state.ctx, task.id, {task.bpmn_id: "approve"},
                                                               actor="clerk", now=state.clock.now()))
    assert taken == [True]
    with state.sessions() as session:
        assert history.verify_all(session, HMAC_KEY.encode()) == []
        completed = [e for e in history.list_events(session, instance_id) if e.kind == EventKind.TASK_COMPLETED]
    assert [e.payload["task_id"] for e in completed] == [task.id]
