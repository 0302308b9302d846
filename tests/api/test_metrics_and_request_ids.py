"""/metrics (Prometheus text), request ids, structured JSON logs and request validation problems."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import create_app, logs, metrics
from engine.clock import SimulatedClock
from engine.config import Settings, load_settings
from engine.dto import DefinitionOut
from engine.errors import ConfigError
from tests.conftest import ROOT, Auth

APPROVE = {"variables": {"decision": "approve", "opinion": "符合要求，同意。"}}
TOPICS = [{"topicName": "permit.issue", "lockDuration": 60_000}]


def _value(text: str, series: str) -> float:
    """A sample's value from the exposition text (0 when the series has no sample yet)."""
    match = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_need_an_admin_token_unless_configured_public(app: Flask, client: FlaskClient, auth: Auth,
                                                              settings: Settings, clock: SimulatedClock) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth.headers("a.wang", "auditor")).status_code == 403
    response = client.get("/metrics", headers=auth.headers("root", "admin"))
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "# TYPE approvals_commands_total counter" in response.get_data(as_text=True)
    assert "# TYPE approvals_timer_lag_seconds histogram" in response.get_data(as_text=True)
    public = load_settings(ROOT / "config.toml", environ={"APPROVALS_SERVER__METRICS_PUBLIC": "true"},
                           overrides={"database": {"url": settings.database.url}, "audit": {"hmac_key": "k" * 32},
                                      "security": {"secret_key": "s" * 32}, "paths": {"var": settings.paths.var}})
    assert create_app(public, clock=clock).test_client().get("/metrics").status_code == 200


def test_commands_jobs_and_errors_are_counted_once_committed(client: FlaskClient, auth: Auth,
                                                             deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    admin = auth.headers("root", "admin")
    window, clerk, bot = (auth.headers("w", "clerk", departments=["window"]),
                          auth.headers("c", "clerk", departments=["nrp", "hc"]), auth.headers("bot", "worker"))

    def scrape() -> str:
        return client.get("/metrics", headers=admin).get_data(as_text=True)

    before = scrape()
    instance = client.post("/api/process-definitions/key/sample_review/start", json={}, headers=window).get_json()
    tasks = client.get(f"/api/tasks?processInstanceId={instance['id']}", headers=clerk).get_json()["items"]
    for task in tasks:
        assert client.post(f"/api/tasks/{task['id']}/complete", json=APPROVE, headers=clerk).status_code == 200
    again = client.post(f"/api/tasks/{tasks[0]['id']}/complete", json=APPROVE, headers=clerk)
    assert again.status_code == 409
    [job] = client.post("/api/external-tasks/fetch-and-lock", json={"workerId": "bot", "topics": TOPICS},
                        headers=bot).get_json()["items"]
    stale = client.post(f"/api/external-tasks/{job['id']}/complete", json={"workerId": "other"}, headers=bot)
    assert stale.status_code == 409  # refused and rolled back: not counted as completed
    assert client.post(f"/api/external-tasks/{job['id']}/complete", json={"workerId": "bot"},
                       headers=bot).status_code == 200
    assert client.get("/api/tasks/nope", headers=clerk).status_code == 404
    after = scrape()

    def delta(series: str) -> float:
        return _value(after, series) - _value(before, series)

    assert delta('approvals_commands_total{command="tasks.complete",outcome="ok"}') == 3
    assert delta('approvals_commands_total{command="tasks.complete",outcome="rejected"}') == 1
    assert delta('approvals_commands_total{command="definitions.start",outcome="ok"}') == 1
    assert delta('approvals_jobs_total{event="fetched"}') == 1
    assert delta('approvals_jobs_total{event="completed"}') == 1
    assert delta('approvals_http_errors_total{status="409"}') == 2
    assert delta('approvals_http_errors_total{status="404"}') == 1


def test_labelled_counter_escapes_label_values() -> None:
    counter = metrics.LabelledCounter("x_total", "help", ["path"])
    counter.inc(path='a"b\\c\nd')
    assert counter.render()[-1] == 'x_total{path="a\\"b\\\\c\\nd"} 1'
    with pytest.raises(ValueError):
        counter.inc(other="x")


def test_request_ids_in_and_out(client: FlaskClient, auth: Auth) -> None:
    clerk = auth.headers("c", "clerk", departments=["nrp"])
    given = client.get("/api/tasks", headers={**clerk, "X-Request-Id": "lb-7f3a.1"})
    assert given.headers["X-Request-Id"] == "lb-7f3a.1"
    made = client.get("/api/tasks", headers=clerk).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    insane = client.get("/api/tasks", headers={**clerk, "X-Request-Id": "x" * 300 + "\t<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", insane.headers["X-Request-Id"])
    refused = client.get("/api/tasks", headers={"X-Request-Id": "abc-123"})
    assert refused.status_code == 401 and refused.get_json()["request_id"] == "abc-123"


def test_validation_problems_name_each_field(client: FlaskClient, auth: Auth) -> None:
    bot = auth.headers("bot", "worker")
    response = client.post("/api/external-tasks/fetch-and-lock", headers=bot,
                           json={"workerId": "", "maxTasks": "5", "topics": [{"topicName": "a", "lockDuration": 0}]})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/invalid-input"
    assert {(e["field"], e["location"]) for e in problem["errors"]} == {
        ("workerId", "body"), ("maxTasks", "body"), ("topics.0.lockDuration", "body")}
    page = client.get("/api/external-tasks?limit=500", headers=bot)
    assert page.status_code == 422 and page.get_json()["errors"][0]["location"] == "query"
    malformed = client.post("/api/external-tasks/fetch-and-lock", data="{", content_type="application/json",
                            headers=bot)
    assert malformed.status_code == 400 and malformed.get_json()["type"] == "/problems/bad-request"
    wrong_method = client.delete("/api/tasks", headers=bot)
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert wrong_method.mimetype == "application/problem+json"


def test_json_log_lines_carry_the_request_id_and_extras_masked() -> None:
    logger = logging.getLogger("tests.json_log")
    stream = __import__("io").StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logs.configure("json", logger)
        token = logs.request_id.set("req-1")
        try:
            logger.warning("job %s failed", "j-1", extra={"job_id": "j-1", "phone": "13912345678"})
        finally:
            logs.request_id.reset(token)
        entry = json.loads(stream.getvalue().strip())
        assert (entry["level"], entry["logger"], entry["message"], entry["request_id"], entry["job_id"]) == (
            "WARNING", "tests.json_log", "job j-1 failed", "req-1", "j-1")
        assert entry["phone"] == "139****5678" and entry["at"].endswith("+00:00")
        logs.configure("text", logger)
        logger.warning("plain")
        assert stream.getvalue().splitlines()[-1].endswith("tests.json_log [-]: plain")
    finally:
        logger.removeHandler(handler)


def test_log_format_is_checked() -> None:
    with pytest.raises(ConfigError, match="log_format"):
        load_settings(None, environ={"APPROVALS_SERVER__LOG_FORMAT": "xml", "APPROVALS_CONFIG": "/nonexistent"})
