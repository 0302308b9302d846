"""Declarative base, engine and session factory.

SQLite: WAL (or `sqlite_journal_mode`), `synchronous` from config, and `BEGIN IMMEDIATE` for every transaction
(SQLAlchemy's documented pysqlite recipe, issued as the dialect's BEGIN) so that a command holds the single
writer lock from its first read: two commands on one instance serialize instead of failing late. PostgreSQL uses
row locks instead.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from engine.config import DatabaseSettings, Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused by the database layer")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def _configure_sqlite(db_engine: Engine, settings: DatabaseSettings) -> None:
    @event.listens_for(db_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # begin_immediate below issues BEGIN itself
        cursor = dbapi_connection.cursor()
        # Before the journal mode: a new file takes its page size with its first table (not once in WAL mode).
        cursor.execute(f"PRAGMA page_size={int(settings.sqlite_page_size)}")
        cursor.execute(f"PRAGMA cache_size=-{int(settings.sqlite_cache_kib)}")
        cursor.execute(f"PRAGMA journal_mode={settings.sqlite_journal_mode}")
        cursor.execute(f"PRAGMA synchronous={settings.sqlite_synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    # SQLite has one writer at a time, and a writer that finds the lock taken polls it with back-off sleeps
    # (1, 2, 5, 10, ... 100 ms): under load the tail of a command's latency is those sleeps. This process's
    # transactions queue on a lock instead and start as soon as the previous one has ended (_QueuedConnection
    # releases it after COMMIT or ROLLBACK returns); other processes still meet SQLite's own busy handling.
    # Bounded like it: past busy_timeout_ms the transaction goes ahead and SQLite decides.
    writer = threading.Lock()
    wait = settings.busy_timeout_ms / 1000

    def begin_immediate(connection: Any) -> None:
        dbapi_connection = connection.dbapi_connection
        if isinstance(dbapi_connection, _QueuedConnection):
            dbapi_connection.queue_for(writer, wait)
        dbapi_connection.execute("BEGIN IMMEDIATE")

    # The dialect's BEGIN (a no-op for pysqlite) rather than a "begin" event: SQLAlchemy wraps its errors as it
    # wraps a statement's (a locked database is a retried conflict), and an engine without connection events
    # skips their dispatch on every statement (issue 14: a transaction's BEGIN 109 -> 79 us, then ~6 us per
    # statement; BEGIN no longer passes through exec_driver_sql and its cursor events).
    db_engine.dialect.do_begin = begin_immediate  # type: ignore[method-assign]

    @event.listens_for(db_engine, "checkin")
    def on_checkin(dbapi_connection: Any, _record: Any) -> None:
        # Whatever ended the connection's use (an invalidation, say), it no longer holds the queue.
        if isinstance(dbapi_connection, _QueuedConnection):
            dbapi_connection.leave_queue()


class _QueuedConnection(sqlite3.Connection):
    """A pysqlite connection that holds its engine's writer lock from BEGIN until its transaction ends."""

    _held: threading.Lock | None = None

    def queue_for(self, writer: threading.Lock, wait: float) -> None:
        if self._held is None and writer.acquire(timeout=wait):
            self._held = writer

    def leave_queue(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.release()

    def commit(self) -> None:
        try:
            super().commit()  # the fsync happens here: the next writer starts after it
        finally:
            self.leave_queue()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave_queue()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave_queue()


CONNECT_TIMEOUT_SECONDS = 10


POOL_SPARE = 3  # the in-process scheduler, the notifier and a CLI or health check beside the request threads


def pool_size(settings: Settings) -> int:
    """Connections a server process keeps open: one per request thread and in-process worker, plus spares.

    With SQLAlchemy's default of 5 and 8 request threads, a burst of requests opened "overflow" connections and
    closed them again when returned, so a request could pay for starting a PostgreSQL backend (connection, auth,
    its options) on top of its own work (bench/clerks_http.py's p99 did not move measurably). Idle pooled
    connections cost the server a backend each and nothing else; the pool opens them only when needed."""
    return settings.server.threads + settings.workers.concurrency + POOL_SPARE


def make_db_engine(settings: Settings) -> Engine:
    url = settings.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and ":memory:" not in url:
        # Relative SQLite paths are relative to the config file, not the process's cwd.
        path = settings.path(url[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{path}"
    kwargs: dict[str, Any] = {"echo": settings.database.echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": settings.database.busy_timeout_ms / 1000,
                                  "factory": _QueuedConnection}
    else:
        kwargs["pool_pre_ping"] = True  # a connection the server dropped (restart, terminated) is replaced
        kwargs["pool_size"] = pool_size(settings)
        # Bounded waits (issue 13): a stopped or unreachable server fails fast instead of after the OS's TCP
        # timeout, and a row lock held too long (a stuck session) ends as a conflict (then 503) instead of a
        # request that never answers. `busy_timeout_ms` is the same budget SQLite writers get.
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS,
                                  "options": f"-c lock_timeout={int(settings.database.busy_timeout_ms)}"}
    db_engine = create_engine(url, **kwargs)
    if db_engine.dialect.name == "sqlite":
        _configure_sqlite(db_engine, settings.database)
    return db_engine


def make_session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=db_engine, expire_on_commit=False)
