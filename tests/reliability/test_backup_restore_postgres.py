"""PostgreSQL backup and restore as the README documents it: `pg_dump --format=custom` taken while clerks and a
worker keep committing, `pg_restore --no-owner` into an empty database, then `approvals audit verify` and
`approvals replay --all --verify` on the restored copy; `approvals db backup` on PostgreSQL points to these tools."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from engine.config import Settings
from engine.dto import DefinitionOut
from tests.reliability.test_backup_restore import Load, _config, _counts, _process, _verified

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app


def test_a_postgres_dump_taken_under_load_restores_with_every_chain_intact(
        app: Flask, postgres_database: str, deploy: Callable[..., DefinitionOut],
        run_jobs: Callable[..., int], tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore are not installed")
    deploy("sample_review")
    url = make_url(postgres_database)
    dsn = f"postgresql://{url.username}@{url.host}:{url.port or 5432}/{url.database}"
    refused = _process(_config(tmp_path, "pg", postgres_database), "db", "backup", str(tmp_path / "x.dump"))
    assert refused.returncode == 2 and "pg_dump --format=custom" in refused.stderr  # the documented way
    dump = tmp_path / "approvals.dump"
    with Load(app, run_jobs) as load:
        load.wait_for(3)
        before = _counts(app)
        made = subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), dsn], capture_output=True,
                              text=True, timeout=300, check=False)
        assert made.returncode == 0, made.stderr
        load.wait_for(load.done + 2)
    after = _counts(app)

    target = f"{url.database}_restored"
    admin: dict[str, Any] = {"host": url.host, "port": url.port or 5432, "user": url.username,
                             "dbname": url.database, "autocommit": True}
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{target}"')
    try:
        restored_dsn = f"postgresql://{url.username}@{url.host}:{url.port or 5432}/{target}"
        result = subprocess.run(["pg_restore", "--no-owner", "--dbname", restored_dsn, str(dump)],
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stderr
        # In processes of their own: an in-process CLI would leave its PostgreSQL pool open.
        line = _verified(_config(tmp_path, "pg-restored", url.set(database=target).render_as_string(False)), _process)
        copied = int(line.split()[0])
        assert before[0] <= copied <= after[0] and after[0] > before[0], (before, copied, after)
        print(f"\npg_dump under load: {copied} of {after[0]} instances in the dump; replay: {line}")
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
