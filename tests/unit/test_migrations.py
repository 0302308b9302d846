"""Alembic upgrade head on an empty database, then check: no drift between models and migrations."""

from __future__ import annotations

from engine.config import Settings
from engine.migrate import check, upgrade


def test_upgrade_head_then_check_finds_no_diff(settings: Settings) -> None:
    upgrade(settings, "heads")
    assert check(settings) is None
