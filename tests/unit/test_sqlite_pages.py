"""`[database] sqlite_page_size` and `sqlite_cache_kib` reach SQLite (engine/db.py); `simulate` raises both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.config import load_settings
from engine.db import make_db_engine
from engine.errors import ConfigError
from engine.simulation.runner import DATABASE, simulation_settings

ROOT = Path(__file__).resolve().parents[2]


def _pragmas(url: str, **database: object) -> tuple[int, int]:
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={"database": {"url": url, **database}})
    db_engine = make_db_engine(settings)
    try:
        with db_engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            return (conn.execute(text("PRAGMA page_size")).scalar_one(),
                    conn.execute(text("PRAGMA cache_size")).scalar_one())
    finally:
        db_engine.dispose()


def test_a_new_file_takes_the_page_size_and_an_existing_one_keeps_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/pages.sqlite3"
    assert _pragmas(url, sqlite_page_size=16384, sqlite_cache_kib=65536) == (16384, -65536)
    # SQLite changes an existing file's page size only on VACUUM: the setting never rewrites a database.
    assert _pragmas(url) == (16384, -2000)
    assert _pragmas(f"sqlite:///{tmp_path}/default.sqlite3") == (4096, -2000)


def test_the_simulation_database_has_large_pages_and_cache(tmp_path: Path) -> None:
    base = load_settings(ROOT / "config.toml", environ={})
    settings = simulation_settings(base, tmp_path)
    assert settings.database.url == f"sqlite:///{tmp_path / DATABASE}"
    assert _pragmas(settings.database.url, sqlite_page_size=settings.database.sqlite_page_size,
                    sqlite_cache_kib=settings.database.sqlite_cache_kib) == (16384, -65536)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("sqlite_page_size", 1000, "must be a power of two from 512 to 65536, not 1000"),
    ("sqlite_page_size", 131072, "must be a power of two from 512 to 65536, not 131072"),
    ("sqlite_page_size", 256, "must be a power of two from 512 to 65536, not 256"),
    ("sqlite_cache_kib", 0, "must be at least 1, not 0"),
    ("sqlite_cache_kib", -5, "must be at least 1, not -5"),
])
def test_bad_page_or_cache_settings_are_refused_at_start(tmp_path: Path, key: str, value: int, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[database]\n{key} = {value}\n")
    with pytest.raises(ConfigError, match=re.escape(f"[database] {key} {message}")):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match=key):
        load_settings(None, environ={f"APPROVALS_DATABASE__{key.upper()}": str(value),
                                     "APPROVALS_CONFIG": str(tmp_path / "none.toml")})
