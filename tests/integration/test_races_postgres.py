"""The concurrent-command tests of tests/api/test_races.py, run again on PostgreSQL, where the instance row lock
is `SELECT … FOR UPDATE` (DESIGN.md §6) instead of SQLite's single writer. Same test bodies, other database."""

from __future__ import annotations

import pytest
from flask import Flask

from engine.config import Settings
from tests.api.test_races import (  # noqa: F401  (collected here again, with this module's fixtures)
    h,
    test_claimed_task_cannot_be_completed_or_claimed_by_another,
    test_completing_a_cancelled_task_is_409_and_changes_nothing,
    test_completions_of_different_tasks_both_succeed,
    test_two_completions_of_one_task_one_wins_one_409,
)
from tests.conftest import engine_state

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app


def test_this_module_runs_on_postgresql(app: Flask) -> None:
    assert engine_state(app).db_engine.dialect.name == "postgresql"
