"""Schemathesis against a live server on 127.0.0.1: every operation of /api/openapi.json fuzzed with valid and
invalid requests; no 5xx, and every status, media type, header and body as the document says.

The server is `create_app` under werkzeug's threaded `make_server` on a free loopback port, with a temporary SQLite
database seeded through the API (tests/api/api_world.py) and one token holding every role. Examples are bounded
and derandomized (`deterministic`), so a run is repeatable and stays well under 90 s on this machine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from werkzeug.serving import make_server

from engine import create_app
from engine.clock import SimulatedClock
from engine.config import load_settings
from engine.db import Base
from tests.api import api_world
from tests.conftest import HMAC_KEY, ROOT, Auth, engine_state

MAX_EXAMPLES = 6


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, bearer token) of a seeded server running in a thread."""
    tmp: Path = tmp_path_factory.mktemp("live")
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": f"sqlite:///{tmp}/engine.sqlite3", "sqlite_synchronous": "NORMAL"},
        "paths": {"processes": str(ROOT / "processes"), "forms": str(ROOT / "forms"), "var": str(tmp / "var")},
        "audit": {"hmac_key": HMAC_KEY},
        "security": {"secret_key": "test-session-secret-0123456789"},
        "scheduler": {"enabled": False},
        "workers": {"enabled": False, "long_poll_seconds": 0.2, "poll_interval_seconds": 0.05},
        "server": {"threads": 4},
    })
    app = create_app(settings, clock=SimulatedClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)))
    Base.metadata.create_all(engine_state(app).db_engine)
    auth = Auth(app)
    auth.user("colleague", "clerk", departments=("nrp", "hc"))
    token = auth.token("omni", *api_world.ALL_ROLES, departments=api_world.DEPARTMENTS)
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        response = app.test_client().open(path, method=method, headers=headers, **kwargs)
        return response.status_code, response.get_json(silent=True)

    api_world.build(call)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access line per fuzzed request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", token
    finally:
        server.shutdown()
        thread.join(10)
        engine_state(app).db_engine.dispose()


def valid_requests_pass_validation(ctx: Any, response: Any, case: Any) -> bool | None:
    """Instead of schemathesis' positive_data_acceptance (2xx or 404 for every schema-valid request): our commands
    refuse schema-valid input on business grounds with 422 (a BPMN file that is no BPMN, a migration to the same
    version, form data the form rejects). What must never happen is the request validation itself refusing a
    request the document allows: that 422 is `invalid-input` with the library's per-field `errors`."""
    if not case.meta.generation.mode.is_positive or response.status_code != 422:
        return None
    problem = response.json()
    if problem.get("type") == "/problems/invalid-input" and problem.get("errors"):
        raise AssertionError(f"a request the document allows failed request validation: {problem['detail']}")
    return None


def test_the_live_api_keeps_its_document(live: tuple[str, str]) -> None:
    """Each operation, in both modes: positive (valid requests: a 2xx or a documented 4xx such as 404 for random
    ids) and negative (invalid requests: must be refused with a documented 4xx). Failures are collected across
    operations and reported together."""
    base_url, token = live
    config = SchemathesisConfig.from_dict({
        "base-url": base_url,
        "headers": {"Authorization": f"Bearer {token}"},
        "request-timeout": 10,
    })
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json", config=config)
    failures: list[str] = []
    exercised = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls: list[int] = []

            @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                                  excluded_checks=[schemathesis.checks.positive_data_acceptance],
                                                  additional_checks=[valid_requests_pass_validation])
                calls.append(response.status_code)

            try:
                check()
            except Unsatisfiable:
                continue  # nothing to make invalid: no parameters and no body
            except (Exception, BaseExceptionGroup) as exc:  # keep schemathesis' report, go on with the others
                failures.append(f"{operation.label} ({mode.value}): {exc}"[:3000])
            exercised += len(calls)
    assert not failures, "\n\n".join(failures)
    assert exercised > 100
