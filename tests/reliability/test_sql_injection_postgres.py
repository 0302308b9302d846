"""The injection campaign again on PostgreSQL, whose driver and types differ (a NUL byte, LIKE escapes, casts).
Same bodies as test_sql_injection.py, other database; in `make test-long` only (it costs ~35 s here)."""

from __future__ import annotations

import pytest
from flask import Flask

from engine.config import Settings
from tests.reliability.test_sql_injection import (  # noqa: F401  (collected here again, with this module's fixtures)
    strings,
    test_injection_strings_in_every_api_filter_are_refused_or_taken_literally,
    test_injection_strings_in_every_page_search_are_taken_literally,
    world,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app
