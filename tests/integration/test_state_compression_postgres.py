"""The instance state's compression on PostgreSQL (issue 14): lz4 after `create_all` and after the migrations, the
server's default again after a downgrade, and a state stored either way read back whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Engine, insert, text

from engine.config import Settings
from engine.db import Base, make_db_engine
from engine.migrate import connected, upgrade
from engine.models import ProcessDefinition, ProcessInstance

pytestmark = pytest.mark.postgres

_COMPRESSION = text("SELECT attcompression FROM pg_attribute WHERE attrelid = 'process_instances'::regclass "
                    "AND attname = 'state_json'")


def _compression(db_engine: Engine) -> str:
    with db_engine.connect() as connection:
        return str(connection.execute(_COMPRESSION).scalar())  # 'l': lz4, 'p': pglz, '': the server's default


def _lz4_available(db_engine: Engine) -> bool:
    with db_engine.connect() as connection:
        return bool(connection.execute(text(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")).scalar())


def _reset(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))


def _store_and_read(db_engine: Engine, instance_id: str = "i") -> str:
    """Store a large state, read it back whole; the method its value was compressed with."""
    state = '{"tasks": {' + ",".join(f'"{i:05d}": {{"state": {i % 64}}}' for i in range(6000)) + "}}"
    assert len(state) > 100_000  # stored out of line, compressed
    now = datetime.now(UTC)
    with db_engine.begin() as connection:
        definition_id = connection.execute(insert(ProcessDefinition.__table__).values(
            process_key=instance_id, version=1, name="p", file_name="p.bpmn", bpmn_sha256="h", content_sha256="h",
            source_xml="<x/>", forms={}, elements={}, deployed_at=now, deployed_by="t")).inserted_primary_key[0]
        connection.execute(insert(ProcessInstance.__table__).values(
            id=instance_id, definition_id=definition_id, process_key="p", status="running", state_json=state,
            serializer_version="1", lock_version=1, started_at=now, started_by="t", updated_at=now))
    with db_engine.connect() as connection:
        read = text("SELECT state_json, pg_column_size(state_json), pg_column_compression(state_json) "
                    "FROM process_instances WHERE id = :id")
        stored, size, method = connection.execute(read, {"id": instance_id}).one()
    assert stored == state
    assert size < len(state) / 2  # compressed, whichever way
    return str(method)


def test_create_all_and_the_migrations_compress_the_state_with_lz4(postgres_settings: Settings) -> None:
    db_engine = make_db_engine(postgres_settings)
    try:
        if not _lz4_available(db_engine):
            pytest.skip("this PostgreSQL has no lz4 (before 14, or built without it)")
        _reset(db_engine)
        Base.metadata.create_all(db_engine)
        assert _compression(db_engine) == "l"
        assert _store_and_read(db_engine) == "lz4"

        _reset(db_engine)
        upgrade(postgres_settings, "heads")
        assert _compression(db_engine) == "l"
        assert _store_and_read(db_engine) == "lz4"

        with connected(postgres_settings) as (config, connection):
            command.downgrade(config, "history_chain_indexes")
            connection.commit()
        assert _compression(db_engine) == ""
        with db_engine.connect() as connection:  # what lz4 stored still reads back after the downgrade
            assert len(connection.execute(text("SELECT state_json FROM process_instances")).scalar()) > 100_000
            default = connection.execute(text("SHOW default_toast_compression")).scalar()
        assert _store_and_read(db_engine, "j") == default
    finally:
        _reset(db_engine)
        db_engine.dispose()
