"""Alembic environment: URL from load_settings(), batch mode for SQLite, server defaults compared."""

from __future__ import annotations

from alembic import context

import engine.models  # noqa: F401  (registers every table on Base.metadata)
from engine.config import load_settings
from engine.db import Base, make_db_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        settings = config.attributes.get("settings") or load_settings()
        with make_db_engine(settings).connect() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_server_default=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
