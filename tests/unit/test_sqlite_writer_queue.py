"""SQLite transactions of one process queue on a lock (engine/db.py), released once they end either way."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.config import load_settings
from engine.db import make_db_engine, make_session_factory
from engine.services.commands import is_retryable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sessions(tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": f"sqlite:///{tmp_path}/q.sqlite3", "sqlite_synchronous": "NORMAL",
                     "busy_timeout_ms": 3000}})
    db_engine = make_db_engine(settings)
    with db_engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    yield make_session_factory(db_engine)
    db_engine.dispose()


def test_a_rolled_back_transaction_does_not_hold_up_the_next(sessions) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError), sessions.begin() as session:
        session.execute(text("UPDATE counter SET n = n + 1"))
        raise RuntimeError("the command failed")
    started = time.monotonic()
    with sessions.begin() as session:
        assert session.execute(text("SELECT n FROM counter")).scalar() == 0  # rolled back
    assert time.monotonic() - started < 1.0  # not a busy_timeout wait


def test_concurrent_writers_in_one_process_all_commit(sessions) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(25):
                with sessions.begin() as session:
                    n = session.execute(text("SELECT n FROM counter")).scalar()
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})  # read-modify-write
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with sessions() as session:
        assert session.execute(text("SELECT n FROM counter")).scalar() == 150  # no lost update


def test_two_transactions_of_one_connection_do_not_wait_on_themselves(sessions) -> None:  # type: ignore[no-untyped-def]
    db_engine = sessions.kw["bind"]
    started = time.monotonic()
    with db_engine.connect() as conn:
        for _ in range(3):
            with conn.begin():
                conn.execute(text("UPDATE counter SET n = n + 1"))
    assert time.monotonic() - started < 1.0


def test_a_connection_kept_open_after_its_commit_does_not_hold_up_other_threads(sessions) -> None:  # type: ignore[no-untyped-def]
    db_engine = sessions.kw["bind"]
    with db_engine.connect() as conn:
        with conn.begin():
            conn.execute(text("UPDATE counter SET n = n + 1"))
        # Committed, but the connection is still checked out: another thread must not wait for its checkin.
        elapsed: list[float] = []

        def other() -> None:
            started = time.monotonic()
            with sessions.begin() as session:
                session.execute(text("UPDATE counter SET n = n + 1"))
            elapsed.append(time.monotonic() - started)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
        assert elapsed and elapsed[0] < 1.0  # busy_timeout is 3 s
    with sessions() as session:
        assert session.execute(text("SELECT n FROM counter")).scalar() == 2


def test_a_transaction_holds_the_write_lock_from_its_first_read(sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        assert session.execute(text("SELECT n FROM counter")).scalar() == 0
        other = sqlite3.connect(tmp_path / "q.sqlite3", timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")  # BEGIN IMMEDIATE, not a deferred BEGIN
        finally:
            other.close()


def test_a_locked_database_at_begin_is_a_retried_conflict(tmp_path: Path) -> None:
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": f"sqlite:///{tmp_path}/b.sqlite3", "busy_timeout_ms": 50}})
    db_engine = make_db_engine(settings)
    sessions = make_session_factory(db_engine)
    holder = sqlite3.connect(tmp_path / "b.sqlite3", isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")  # another process's writer
    try:
        with pytest.raises(OperationalError, match="locked") as raised, sessions.begin() as session:
            session.execute(text("SELECT 1"))
        assert is_retryable(raised.value)
    finally:
        holder.rollback()
        holder.close()
    with sessions.begin() as session:  # the failed begin left no lock behind (the writer queue included)
        assert session.execute(text("SELECT 1")).scalar() == 1
    db_engine.dispose()
