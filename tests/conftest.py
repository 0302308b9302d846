"""Shared fixtures: settings, app, client, clock, session and a `deploy` factory (STYLE.md §8)."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import create_app
from engine.app_state import AppState
from engine.clock import SimulatedClock
from engine.config import Settings, load_settings
from engine.db import Base
from engine.dto import DefinitionOut

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
HMAC_KEY = "test-audit-key-0123456789abcdef"

# Every state dump in the suite (and in the processes it starts) is checked against the full dump
# (engine/bpmn/serialization.py).
os.environ["APPROVALS_CHECK_DUMPS"] = "1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        ROOT / "config.toml",
        environ={},
        overrides={
            "database": {"url": f"sqlite:///{tmp_path}/engine.sqlite3", "sqlite_synchronous": "NORMAL"},
            "paths": {"processes": str(ROOT / "processes"), "forms": str(ROOT / "forms"),
                      "var": str(tmp_path / "var")},
            "audit": {"hmac_key": HMAC_KEY},
            "security": {"secret_key": "test-session-secret-0123456789"},
            "scheduler": {"enabled": False},
            "workers": {"enabled": False},
        },
    )


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))


@pytest.fixture
def app(settings: Settings, clock: SimulatedClock) -> Iterator[Flask]:
    app = create_app(settings, clock=clock)
    Base.metadata.create_all(engine_state(app).db_engine)
    yield app
    engine_state(app).db_engine.dispose()


def engine_state(app: Flask) -> AppState:
    return app.extensions["engine"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with engine_state(app).sessions() as session:
        yield session


@pytest.fixture
def deploy(app: Flask) -> Callable[..., DefinitionOut]:
    """deploy("sample_review") or deploy(path) -> DefinitionOut, through the service layer."""
    from engine.services import deployments
    from engine.services.commands import run_command

    state = engine_state(app)

    def _deploy(name_or_path: str | Path) -> DefinitionOut:
        path = Path(name_or_path)
        if not path.suffix:
            path = ROOT / "processes" / f"{name_or_path}.bpmn"
        return run_command(state.sessions, lambda s: deployments.deploy_path(
            s, state.ctx, path, actor="designer", now=state.clock.now()))

    return _deploy


TEST_PASSWORD = "Test-Passw0rd-9"


@functools.cache
def _test_password_hash() -> str:
    from engine.auth.passwords import hash_password

    return hash_password(TEST_PASSWORD)  # argon2 is slow on purpose: hash once per test session


class Auth:
    """Test accounts and bearer tokens: `auth.headers("li.nrp", "clerk", departments=["nrp"])`.

    The first call for a username creates the user (password TEST_PASSWORD) and a token; later calls reuse both.
    """

    def __init__(self, app: Flask) -> None:
        self.state = engine_state(app)
        self._tokens: dict[str, str] = {}

    def user(self, username: str, *roles: str, departments: tuple[str, ...] | list[str] = (),
             display_name: str | None = None) -> None:
        from engine.models import User, UserDepartment

        now = self.state.clock.now()
        with self.state.sessions.begin() as session:
            if session.scalar(select(User.id).where(User.username == username)) is not None:
                return
            user = User(username=username, display_name=display_name or username, password_hash=_test_password_hash(),
                        roles=sorted(roles), failed_logins=0, session_epoch=0, created_at=now,
                        created_by="test", password_changed_at=now)
            user.memberships = [UserDepartment(department=d) for d in departments]
            session.add(user)

    def token(self, username: str, *roles: str, departments: tuple[str, ...] | list[str] = ()) -> str:
        from engine.auth import tokens
        from engine.services.commands import run_command

        if username not in self._tokens:
            self.user(username, *roles, departments=departments)
            issued = run_command(self.state.sessions, lambda s: tokens.issue(
                s, self.state.ctx, username, name="test", days=30, actor="test", now=self.state.clock.now()))
            self._tokens[username] = issued.secret
        return self._tokens[username]

    def headers(self, username: str, *roles: str, departments: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username, *roles, departments=departments)}"}


@pytest.fixture
def auth(app: Flask) -> Auth:
    return Auth(app)


def postgres_url() -> str:
    return os.environ.get("APPROVALS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def forms_copy(tmp_path: Path) -> Path:
    """A private copy of forms/ for tests that change form files."""
    target = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", target)
    return target


@pytest.fixture
def run_jobs(app: Flask) -> Callable[..., int]:
    """run_jobs(*routers, deps=None) -> how many jobs ran: an in-process worker (through the services, on the
    test clock) that runs every job claimable now. Default routers: workers.ROUTERS."""
    from engine.sdk import LocalBackend, TaskRouter, WorkerRunner

    state = engine_state(app)

    def _run(*routers: TaskRouter, deps: object = None, worker_id: str = "test-worker") -> int:
        import workers

        runner = WorkerRunner(state.settings, routers or workers.ROUTERS, backend=LocalBackend(state), deps=deps,
                              worker_id=worker_id, topics=["*"])
        return runner.run_until_idle()

    return _run


def flask_transport(app: Flask) -> Callable[..., tuple[int, object]]:
    """The SDK's HTTP transport over Flask's test client: the real /api/external-tasks, no sockets."""

    def send(method: str, path: str, body: dict | None, headers: dict[str, str],
             _timeout: float) -> tuple[int, object]:
        response = app.test_client().open(path, method=method, json=body, headers=headers)
        return response.status_code, response.get_json(silent=True)

    return send


@pytest.fixture
def run_jobs_http(app: Flask, auth: Auth) -> Callable[..., int]:
    """Like `run_jobs`, but the worker talks to the JSON API with a worker account's bearer token."""
    from engine.sdk import HttpBackend, TaskRouter, WorkerRunner

    state = engine_state(app)

    def _run(*routers: TaskRouter, deps: object = None, worker_id: str = "http-worker") -> int:
        import workers

        backend = HttpBackend("http://engine.test", token=auth.token("worker-bot", "worker"),
                              transport=flask_transport(app))
        runner = WorkerRunner(state.settings, routers or workers.ROUTERS, backend=backend, deps=deps,
                              worker_id=worker_id, topics=["*"])
        return runner.run_until_idle()

    return _run


# PostgreSQL (DESIGN.md §4): tests marked `postgres` skip with a reason when it is unreachable, except with
# CI=true, where that is a failure. Multi-process tests get a fresh database per module.


@functools.cache
def _postgres_unreachable() -> str | None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url())
    try:
        with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                             dbname=url.database, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL unreachable at {url.render_as_string(hide_password=True)}: {exc}".strip()


def require_postgres() -> None:
    reason = _postgres_unreachable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") is not None:
        require_postgres()


@pytest.fixture(scope="module")
def postgres_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for this test module (its SQLAlchemy URL); dropped after."""
    import re
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    require_postgres()
    base = make_url(postgres_url())
    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())[:30]
    name = f"t_{module}_{uuid.uuid4().hex[:8]}"
    admin = dict(host=base.host, port=base.port or 5432, user=base.username, password=base.password,
                 dbname=base.database, autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_settings(postgres_database: str, tmp_path: Path) -> Settings:
    """`settings`, but on this module's PostgreSQL database."""
    return load_settings(
        ROOT / "config.toml",
        environ={},
        overrides={
            "database": {"url": postgres_database},
            "paths": {"processes": str(ROOT / "processes"), "forms": str(ROOT / "forms"),
                      "var": str(tmp_path / "var")},
            "audit": {"hmac_key": HMAC_KEY},
            "security": {"secret_key": "test-session-secret-0123456789"},
            "scheduler": {"enabled": False},
            "workers": {"enabled": False},
        },
    )


@pytest.fixture
def postgres_app(postgres_settings: Settings, clock: SimulatedClock) -> Iterator[Flask]:
    """`app` on this module's PostgreSQL database, with a fresh schema for every test. A module reruns SQLite
    tests on PostgreSQL by importing them and overriding `settings` and `app` with the postgres_ fixtures."""
    app = create_app(postgres_settings, clock=clock)
    db_engine = engine_state(app).db_engine
    Base.metadata.drop_all(db_engine)
    Base.metadata.create_all(db_engine)
    yield app
    db_engine.dispose()
