"""The bureau on PostgreSQL: its record tests and its numbering tests rerun here (the `settings` and `app` fixtures
below), through the DB-API path's psycopg plans (numbers, lookups by job id, inserted records); and transactions
that number the same series at the same time get distinct numbers without gaps (the UPDATE's row lock queues
them)."""

from __future__ import annotations

import threading

import pytest
from flask import Flask

from engine.bureau.numbering import next_number
from engine.config import Settings
from tests.bureau.test_numbering import (  # noqa: F401  (rerun here)
    test_a_rolled_back_number_is_handed_out_again,
    test_each_series_counts_from_one,
    test_the_orm_sees_the_new_number_in_the_same_transaction,
)
from tests.bureau.test_records import (  # noqa: F401  (rerun here)
    test_a_deemed_approval_obliges_the_formal_document_by_the_end_of_the_next_working_day,
    test_a_failing_sender_leaves_the_notice_for_dispatch,
    test_an_unknown_notice_kind_is_refused,
    test_escalations_and_credit,
    test_notices_are_numbered_per_kind_and_year_and_sent_once,
    test_permits_are_numbered_documented_revoked_and_shared,
    test_project_codes_are_sequential_per_year_and_stable_per_job,
)
from tests.conftest import engine_state

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app


def test_concurrent_transactions_get_distinct_numbers(app: Flask) -> None:
    sessions = engine_state(app).sessions
    with sessions.begin() as session:
        assert next_number(session, "notice:acceptance:2026") == 1
    start, got, errors = threading.Barrier(6), [], []

    def issue() -> None:
        try:
            start.wait(timeout=10)
            for _ in range(5):
                with sessions.begin() as session:
                    got.append(next_number(session, "notice:acceptance:2026"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=issue) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sorted(got) == list(range(2, 32))
