"""Backup and restore of the embedded SQLite database (`approvals db backup FILE` / `db restore FILE`).

A backup uses SQLite's online backup API in one step from a read transaction: in WAL mode that is a consistent
snapshot of one instant while writers keep committing (they are not blocked, and a half-written command is never
in it). It is written next to the target as `FILE.part`, checked with `PRAGMA integrity_check`, switched to a
single self-contained file (no -wal) and renamed into place, so FILE either is a whole checked backup or does not
exist. A backup never overwrites a file.

A restore checks that FILE is an intact engine database, then copies it page by page into the configured one
(the backup API again, holding the destination's write lock for the copy) and verifies every history chain with
the HMAC key of this environment. Stop the server, scheduler and workers first: they would keep running on the
restored data, but a command in flight during the copy is refused with "database is locked" and retried.

PostgreSQL uses its own tools (`pg_dump` / `pg_restore`, README "Backup and restore"); these functions say so.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from engine.config import Settings
from engine.db import make_db_engine
from engine.errors import EngineError, InvalidInput

REQUIRED_TABLES = ("process_instances", "instance_events", "chain_heads", "chain_checkpoints")


class NotSqlite(EngineError):
    """Backups of PostgreSQL use pg_dump and pg_restore"""

    status = 400


@dataclass(frozen=True)
class DatabaseFacts:
    path: Path
    size: int
    instances: int
    events: int


def sqlite_path(settings: Settings) -> Path:
    """The SQLite file the settings point at (relative paths resolved as the engine resolves them)."""
    db_engine = make_db_engine(settings)
    try:
        url = db_engine.url
    finally:
        db_engine.dispose()
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise NotSqlite(pg_instructions(settings.database.url))
    return Path(url.database)


def pg_instructions(url: str) -> str:
    parts = make_url(url)
    dsn = f"postgresql://{parts.username or ''}{'@' if parts.username else ''}{parts.host or 'localhost'}" \
          f":{parts.port or 5432}/{parts.database or ''}"
    return (f"the database is {parts.get_backend_name()}, not SQLite: back up with `pg_dump --format=custom "
            f"--file FILE {dsn}` and restore into an empty database with `pg_restore --no-owner --dbname {dsn} "
            "FILE` (password from PGPASSWORD or ~/.pgpass; see README, Backup and restore)")


def _connect(path: Path, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=timeout, isolation_level=None)


def _facts(conn: sqlite3.Connection, path: Path) -> DatabaseFacts:
    problem = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if problem != "ok":
        raise InvalidInput(f"{path} is damaged: integrity_check says {problem}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise InvalidInput(f"{path} is not an approvals database (no table {', '.join(missing)})")
    instances = conn.execute("SELECT count(*) FROM process_instances").fetchone()[0]
    events = conn.execute("SELECT count(*) FROM instance_events").fetchone()[0]
    return DatabaseFacts(path, path.stat().st_size, int(instances), int(events))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup(settings: Settings, target: Path) -> DatabaseFacts:
    """A consistent, checked copy of the live database at `target` (which must not exist)."""
    source = sqlite_path(settings)
    if not source.exists():
        raise InvalidInput(f"there is no database at {source} to back up")
    if target.exists():
        raise InvalidInput(f"{target} exists: a backup never overwrites a file; choose a new name")
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    timeout = settings.database.busy_timeout_ms / 1000
    src, dst = _connect(source, timeout), _connect(partial, timeout)
    try:
        src.backup(dst)  # one step (all pages): a snapshot of one instant, writers not blocked in WAL mode
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        facts = _facts(dst, partial)
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)
    return DatabaseFacts(target, facts.size, facts.instances, facts.events)


def restore(settings: Settings, source: Path, *, overwrite: bool) -> DatabaseFacts:
    """Replace the configured database with the backup at `source` (checked first)."""
    if not source.is_file():
        raise InvalidInput(f"no backup file at {source}")
    timeout = settings.database.busy_timeout_ms / 1000
    try:
        with _connect(source, timeout) as probe:
            _facts(probe, source)
    except sqlite3.DatabaseError as exc:
        raise InvalidInput(f"{source} is not a SQLite database: {exc}") from exc
    target = sqlite_path(settings)
    if target.exists() and target.stat().st_size > 0 and not overwrite:
        raise InvalidInput(f"{target} exists: restoring replaces it entirely; stop the engine and add --yes")
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = _connect(source, timeout), _connect(target, timeout)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")  # the engine's mode (the backup file is a single-file database)
        return _facts(dst, target)
    finally:
        src.close()
        dst.close()
