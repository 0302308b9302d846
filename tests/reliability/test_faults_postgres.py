"""PostgreSQL faults (DESIGN.md §3.1, §6): the server going away and coming back, its connections terminated by
an operator, and an instance row locked by a stuck session. Each answers a clear 503 with Retry-After (never a
500 and never a hang), changes nothing, and the same running app works again afterwards: no restart.

The server "stops" behind a TCP proxy (tests/reliability/tcp_proxy.py) so the shared PostgreSQL keeps serving
the other tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from engine import create_app
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.db import Base
from engine.services import deployments
from engine.services.commands import run_command
from tests.conftest import ROOT, Auth, engine_state
from tests.reliability import snapshot
from tests.reliability.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
APPROVE = {"variables": {"decision": "approve", "opinion": "符合要求"}}


@pytest.fixture
def proxy(postgres_database: str) -> Iterator[TcpProxy]:
    url = make_url(postgres_database)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app(postgres_settings: Settings, proxy: TcpProxy, clock: SimulatedClock) -> Iterator[Flask]:
    """The app on this module's database through the proxy, with a 300 ms lock budget."""
    url = make_url(postgres_settings.database.url).set(host="127.0.0.1", port=proxy.port)
    settings = dataclasses.replace(postgres_settings, database=dataclasses.replace(
        postgres_settings.database, url=url.render_as_string(hide_password=False), busy_timeout_ms=300))
    app = create_app(settings, clock=clock)
    state = engine_state(app)
    Base.metadata.drop_all(state.db_engine)
    Base.metadata.create_all(state.db_engine)
    run_command(state.sessions, lambda s: deployments.deploy_path(
        s, state.ctx, ROOT / "processes" / "sample_review.bpmn", actor="designer", now=clock.now()))
    yield app
    state.db_engine.dispose()


@pytest.fixture
def clerk(auth: Auth) -> dict[str, str]:
    return auth.headers("li.hc", "clerk", departments=["nrp", "hc"])


def _admin(postgres_database: str) -> psycopg.Connection[Any]:
    url = make_url(postgres_database)
    return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                           dbname=url.database, autocommit=True)


def _start(client: FlaskClient, clerk: dict[str, str]) -> tuple[str, list[str]]:
    response = client.post("/api/process-definitions/key/sample_review/start", json={}, headers=clerk)
    assert response.status_code == 201, response.get_json()
    instance_id = response.get_json()["id"]
    tasks = client.get(f"/api/tasks?processInstanceId={instance_id}", headers=clerk).get_json()["items"]
    return instance_id, [t["id"] for t in tasks]


def _unavailable(response: Any, problem_type: str = "/problems/database-unavailable") -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == problem_type, response.get_json()


def test_the_database_server_going_away_answers_503_and_the_app_reconnects(
        app: Flask, client: FlaskClient, proxy: TcpProxy, clerk: dict[str, str]) -> None:
    instance_id, tasks = _start(client, clerk)
    db_engine = engine_state(app).db_engine
    before = snapshot.take(db_engine)

    proxy.stop()  # every pooled connection dropped, new ones refused
    for _ in range(2):  # the pool's dead connections and a fresh connect attempt both end as 503
        _unavailable(client.post(f"/api/tasks/{tasks[0]}/complete", json=APPROVE, headers=clerk))
        _unavailable(client.get(f"/api/tasks?processInstanceId={instance_id}", headers=clerk))
    assert client.get("/api/health").status_code == 200

    proxy.start()  # back on the same address: the same app reconnects
    assert snapshot.differences(before, snapshot.take(db_engine)) == []
    assert client.post(f"/api/tasks/{tasks[0]}/complete", json=APPROVE, headers=clerk).status_code == 200
    assert client.get(f"/api/tasks?processInstanceId={instance_id}", headers=clerk).status_code == 200


def test_connections_terminated_by_an_operator_are_replaced_without_an_error(
        app: Flask, client: FlaskClient, clerk: dict[str, str], postgres_database: str) -> None:
    _instance_id, tasks = _start(client, clerk)
    with _admin(postgres_database) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()
    assert killed is not None and killed[0] >= 1
    for task_id in tasks:  # pre-ping finds the dead connections and opens new ones
        assert client.post(f"/api/tasks/{task_id}/complete", json=APPROVE, headers=clerk).status_code == 200


def test_an_instance_locked_by_a_stuck_session_answers_503_not_a_hang(
        app: Flask, client: FlaskClient, clerk: dict[str, str], postgres_database: str) -> None:
    instance_id, tasks = _start(client, clerk)
    db_engine = engine_state(app).db_engine
    before = snapshot.take(db_engine)
    with _admin(postgres_database) as stuck:
        stuck.execute("BEGIN")
        stuck.execute("SELECT id FROM process_instances WHERE id = %s FOR UPDATE", (instance_id,))
        # lock_timeout (the 300 ms busy budget) ends each attempt; after the re-applies: 503 busy
        _unavailable(client.post(f"/api/tasks/{tasks[0]}/complete", json=APPROVE, headers=clerk), "/problems/busy")
        assert snapshot.differences(before, snapshot.take(db_engine)) == []
        stuck.execute("ROLLBACK")
    assert client.post(f"/api/tasks/{tasks[0]}/complete", json=APPROVE, headers=clerk).status_code == 200


def test_every_fault_is_translated_and_a_bug_is_not(app: Flask) -> None:
    """Only faults become 503/507: an SQL error that is a bug stays an internal error."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from engine.api.db_faults import translate

    with engine_state(app).db_engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert translate(caught.value) is None

