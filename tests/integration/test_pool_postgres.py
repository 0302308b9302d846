"""A server's PostgreSQL pool holds a connection for every request thread and in-process worker: a burst of them
reuses the same backends instead of opening and closing "overflow" connections (engine/db.py)."""

from __future__ import annotations

import pytest

from engine.config import Settings
from engine.db import make_db_engine, pool_size

pytestmark = pytest.mark.postgres


def test_a_burst_of_every_thread_reuses_the_same_connections(postgres_settings: Settings) -> None:
    busy = postgres_settings.server.threads + postgres_settings.workers.concurrency
    db_engine = make_db_engine(postgres_settings)
    try:
        assert db_engine.pool.size() == pool_size(postgres_settings) > busy  # type: ignore[attr-defined]

        def burst() -> set[int]:
            connections = [db_engine.connect() for _ in range(busy)]
            try:
                return {c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() for c in connections}
            finally:
                for connection in connections:
                    connection.close()

        first = burst()
        assert len(first) == busy
        assert burst() == first  # every connection went back to the pool, none was closed and reopened
    finally:
        db_engine.dispose()
