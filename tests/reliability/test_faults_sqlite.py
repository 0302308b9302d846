"""SQLite faults (DESIGN.md §3.1, §6): the database locked by another process, and a full database file.

Each fault answers with a clear problem (503 + Retry-After, 507), changes nothing, and the same running app works
again once the fault is gone: no restart.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from engine.config import Settings
from engine.dto import DefinitionOut
from engine.services import history
from tests.conftest import Auth, engine_state
from tests.reliability import snapshot

APPROVE = {"variables": {"decision": "approve", "opinion": "符合要求"}}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A short busy timeout: a locked database answers within a second instead of 15."""
    return dataclasses.replace(settings, database=dataclasses.replace(settings.database, busy_timeout_ms=200))


@pytest.fixture
def clerk(auth: Auth) -> dict[str, str]:
    return auth.headers("li.hc", "clerk", departments=["nrp", "hc"])


def _start(client: FlaskClient, clerk: dict[str, str]) -> tuple[str, list[str]]:
    response = client.post("/api/process-definitions/key/sample_review/start", json={"variables": {}},
                           headers=clerk)
    assert response.status_code == 201, response.get_json()
    instance_id = response.get_json()["id"]
    tasks = client.get(f"/api/tasks?processInstanceId={instance_id}", headers=clerk).get_json()["items"]
    return instance_id, [t["id"] for t in tasks]


@contextmanager
def exclusive_lock(path: str) -> Iterator[None]:
    """Another process holds BEGIN EXCLUSIVE on the database file for the duration."""
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sqlite3, sys\n"
                                f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
                                "c.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\nsys.stdin.read()\n")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()  # the holder exits: its lock is gone
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()


def _unavailable(response: Any, *, camunda: bool = False) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) >= 1
    body = response.get_json()
    if camunda:
        assert body["type"] == "OptimisticLockingException" and "locked" in body["message"]
    else:
        assert response.mimetype == "application/problem+json"
        assert body["type"] in ("/problems/database-unavailable", "/problems/busy"), body
        assert "nothing was changed" in body["detail"] or "gave up" in body["detail"]


def test_a_database_locked_by_another_process_answers_503_then_recovers_without_restart(
        app: Flask, client: FlaskClient, deploy: Callable[..., DefinitionOut], clerk: dict[str, str]) -> None:
    deploy("sample_review")
    instance_id, tasks = _start(client, clerk)
    db_engine = engine_state(app).db_engine
    before = snapshot.take(db_engine)

    with exclusive_lock(str(db_engine.url.database)):
        _unavailable(client.post(f"/api/tasks/{tasks[0]}/complete", json=APPROVE, headers=clerk))
        _unavailable(client.post("/api/process-definitions/key/sample_review/start", json={}, headers=clerk))
        _unavailable(client.get(f"/api/tasks?processInstanceId={instance_id}", headers=clerk))
        basic = {"Authorization": clerk["Authorization"]}
        _unavailable(client.get("/engine-rest/task", headers=basic), camunda=True)
        assert client.get("/api/health").status_code == 200  # the server itself is fine

    assert snapshot.differences(before, snapshot.take(db_engine)) == []
    assert client.post(f"/api/tasks/{tasks[0]}/complete", json=APPROVE, headers=clerk).status_code == 200
    assert client.post("/api/process-definitions/key/sample_review/start", json={},
                       headers=clerk).status_code == 201


class PageLimit:
    """`PRAGMA max_page_count` on every connection the app checks out: a database file that cannot grow."""

    def __init__(self, app: Flask) -> None:
        self.db_engine = engine_state(app).db_engine
        self.pages: int | None = None
        event.listen(self.db_engine, "checkout", self._apply)

    def _apply(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        limit = self.pages if self.pages is not None else 1_073_741_823
        dbapi_connection.execute(f"PRAGMA max_page_count = {limit}")

    def fill(self, spare_pages: int) -> None:
        with self.db_engine.connect() as conn:
            self.pages = int(conn.execute(text("PRAGMA page_count")).scalar_one()) + spare_pages

    def lift(self) -> None:
        self.pages = None


def test_a_full_database_file_is_a_clear_507_with_no_corruption(app: Flask, client: FlaskClient,
                                                                 deploy: Callable[..., DefinitionOut],
                                                                 clerk: dict[str, str]) -> None:
    deploy("sample_review")
    limit = PageLimit(app)
    _start(client, clerk)
    limit.fill(spare_pages=2)
    db_engine = engine_state(app).db_engine
    refused = None
    for _attempt in range(50):  # each start writes the state, rows and a dozen events: soon no room
        before = snapshot.take(db_engine)
        response = client.post("/api/process-definitions/key/sample_review/start",
                               json={"variables": {"project": "满盘" * 200}}, headers=clerk)
        if response.status_code != 201:
            refused = response
            break
    assert refused is not None, "the page limit never filled"
    assert refused.status_code == 507, refused.get_data(as_text=True)
    problem = refused.get_json()
    assert problem["type"] == "/problems/storage-full" and "nothing was changed" in problem["detail"]
    assert snapshot.differences(before, snapshot.take(db_engine)) == []  # the refused start left nothing
    with db_engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    state = engine_state(app)
    with state.sessions() as session:
        assert history.verify_all(session, state.ctx.hmac_key) == []

    limit.lift()  # an operator freed space: the same app goes on
    _instance_id, tasks = _start(client, clerk)
    for task_id in tasks:
        assert client.post(f"/api/tasks/{task_id}/complete", json=APPROVE, headers=clerk).status_code == 200
    with state.sessions() as session:
        assert history.verify_all(session, state.ctx.hmac_key) == []
