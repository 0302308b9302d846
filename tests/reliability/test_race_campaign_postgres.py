"""The race campaigns again on PostgreSQL, where the instance lock is `SELECT … FOR UPDATE` and the scheduler
takes rows with `SKIP LOCKED` (DESIGN.md §6). Same bodies as test_race_campaign.py, other database."""

from __future__ import annotations

import pytest
from flask import Flask

from engine.config import Settings
from tests.reliability.test_race_campaign import (  # noqa: F401  (collected here again, with this module's fixtures)
    test_complete_vs_deadline_has_exactly_one_winner,
    test_double_completions_have_exactly_one_winner,
)

pytestmark = pytest.mark.postgres


@pytest.fixture(params=[25, pytest.param(1000, marks=pytest.mark.slow)])
def race_count(request: pytest.FixtureRequest) -> int:
    """Fewer in `make test` than on SQLite (each PostgreSQL race costs ~4x); 1,000 in `make test-long`."""
    return int(request.param)


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app
