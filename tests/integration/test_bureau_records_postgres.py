"""The bureau's records through `BureauDeps` on PostgreSQL: the SQLite module's tests rerun here (the `settings` and
`app` fixtures below), through the DB-API path's psycopg plans (numbers, lookups by job id, inserted records)."""

from __future__ import annotations

import pytest
from flask import Flask

from engine.config import Settings
from tests.bureau.test_records import (  # noqa: F401  (rerun here)
    test_a_deemed_approval_obliges_the_formal_document_by_the_end_of_the_next_working_day,
    test_a_failing_sender_leaves_the_notice_for_dispatch,
    test_an_unknown_notice_kind_is_refused,
    test_escalations_and_credit,
    test_notices_are_numbered_per_kind_and_year_and_sent_once,
    test_permits_are_numbered_documented_revoked_and_shared,
    test_project_codes_are_sequential_per_year_and_stable_per_job,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app
