"""Portal tests run with small upload limits, so an oversized file is cheap to make; the browser tests use the
web suite's Chromium, live server and page fixtures."""

from __future__ import annotations

import dataclasses

import pytest

from engine.config import Settings
from tests.web.test_browser import browser, live, page  # noqa: F401 (fixtures for the browser tests)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    portal = dataclasses.replace(settings.portal, max_file_bytes=256 * 1024, max_request_bytes=2 * 1024 * 1024)
    return dataclasses.replace(settings, portal=portal)
