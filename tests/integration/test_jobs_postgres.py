"""The job tests (worker API, sample process with its worker, BPMN error routing, the jobs service) run again on
PostgreSQL, where claims use `FOR UPDATE SKIP LOCKED` and reports lock the instance row. Same test bodies."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from engine.config import Settings
from engine.dto import DefinitionOut
from engine.services import instances, jobs
from engine.services.commands import run_command
from engine.services.job_polling import fetch_and_lock
from tests.api.test_external_tasks import (  # noqa: F401  (collected here again, with this module's fixtures)
    _deployed,
    h,
    test_a_bpmn_error_takes_the_boundary_path,
    test_failures_then_an_incident_that_an_admin_retries,
    test_fetch_complete_and_the_instance_moves_on,
    test_long_polling_answers_as_soon_as_a_job_appears,
)
from tests.conftest import DATA, engine_state
from tests.processes.test_bpmn_error_routing import (  # noqa: F401
    test_each_error_goes_to_its_own_tasks_boundary_or_scope_else_an_incident,
)
from tests.processes.test_sample_review import (  # noqa: F401
    test_a_blacklisted_applicant_takes_the_error_boundary_and_is_never_retried,
    test_exhausted_retries_open_an_incident_that_an_admin_retries,
)
from tests.unit.services.test_jobs import (  # noqa: F401  (the claim is one statement: its order and locks)
    claim,
    test_a_locked_job_is_not_claimed_again_until_its_lock_expires,
    test_each_job_is_locked_for_its_own_topic_s_duration,
    test_higher_priority_first_then_oldest,
    two_topics,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app


def test_concurrent_claims_never_share_a_job(app: Flask, deploy: Callable[..., DefinitionOut]) -> None:
    """Eight threads claim at once, each in its own transaction: SKIP LOCKED hands every job to exactly one."""
    deploy(DATA / "bpmn" / "effect_job.bpmn")
    state = engine_state(app)
    for n in range(40):
        run_command(state.sessions, lambda s, n=n: instances.start(s, state.ctx, "effect_job", {"n": n},
                                                                   actor="clerk", now=state.clock.now()))
    claimed: dict[str, list[str]] = {}
    barrier = threading.Barrier(8)

    def claimer(worker: str) -> None:
        barrier.wait()
        mine = claimed.setdefault(worker, [])
        while True:
            got = run_command(state.sessions, lambda s: jobs.claim(
                s, state.ctx, [jobs.TopicRequest("effect.record", timedelta(minutes=5))], worker=worker,
                max_jobs=3, now=state.clock.now()))
            if not got:
                return
            mine.extend(j.id for j in got)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    every = [job_id for ids in claimed.values() for job_id in ids]
    assert len(every) == len(set(every)) == 40
    assert sum(1 for ids in claimed.values() if ids) >= 2


def test_fetch_and_lock_claims_in_autocommit_and_gives_the_connection_back_transactional(
        app: Flask, deploy: Callable[..., DefinitionOut]) -> None:
    """The claim (one statement) runs without BEGIN/COMMIT; the pooled connection it used is transactional again for
    the next command, which must not commit statement by statement."""
    deploy(DATA / "bpmn" / "effect_job.bpmn")
    state = engine_state(app)
    for n in range(2):
        run_command(state.sessions, lambda s, n=n: instances.start(s, state.ctx, "effect_job", {"n": n},
                                                                   actor="clerk", now=state.clock.now()))
    seen: list[tuple[str, bool]] = []
    phase = ["claim"]

    def on_statement(conn: Any, *_args: Any) -> None:
        seen.append((phase[0], conn.connection.driver_connection.autocommit))

    topics = [jobs.TopicRequest("effect.record", timedelta(minutes=5))]
    event.listen(state.db_engine, "before_cursor_execute", on_statement)
    try:
        for _ in range(2):  # the second claim and command reuse the pooled connection
            phase[0] = "claim"
            [job] = fetch_and_lock(state.sessions, state.ctx, state.clock.now, topics, worker="w1", max_jobs=1,
                                   wait=0, poll_interval=0.1)
            phase[0] = "complete"
            run_command(state.sessions, lambda s, job=job: jobs.complete(
                s, state.ctx, job.id, {}, worker="w1", actor="w1", now=state.clock.now()))
    finally:
        event.remove(state.db_engine, "before_cursor_execute", on_statement)
    assert [autocommit for p, autocommit in seen if p == "claim"] == [True, True]  # one statement per claim
    assert {autocommit for p, autocommit in seen if p == "complete"} == {False}
