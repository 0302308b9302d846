"""Hostile uploads and requests through the API: each answered with a 4xx problem, nothing deployed, nothing read
from disk or fetched from the network (DESIGN.md §3.6)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import ProcessDefinition
from tests.conftest import ROOT, Auth, engine_state

SAMPLE = (ROOT / "processes" / "sample_review.bpmn").read_bytes()
PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>'


@pytest.fixture
def client(client: FlaskClient, auth: Auth) -> FlaskClient:
    client.environ_base["HTTP_AUTHORIZATION"] = auth.headers("designer", "designer")["Authorization"]
    return client


@pytest.fixture
def listener() -> Iterator[list[bytes]]:
    """A TCP server on loopback that records whatever connects to it (a DTD or entity fetch would)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    seen.append(conn.recv(4096))
                except OSError:
                    seen.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    seen.append(str(server.getsockname()[1]).encode())  # seen[0]: the port
    yield seen
    stop.set()
    thread.join(2)
    server.close()


def _upload(client: FlaskClient, data: bytes, name: str = "hostile.bpmn"):
    """A multipart body built by hand (the test client would spool a large upload into a file of its own)."""
    boundary = "hostile-boundary-7d41"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/xml\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/api/process-definitions", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def _definitions(app: Flask) -> int:
    with engine_state(app).sessions() as session:
        return session.scalar(select(func.count()).select_from(ProcessDefinition)) or 0


def _with_prolog(doctype: bytes, entity_use: bytes) -> bytes:
    return SAMPLE.replace(PROLOG, PROLOG + b"\n" + doctype, 1).replace('name="受理"'.encode(),
                                                                    b'name="' + entity_use + b'"', 1)


def _assert_refused(response, status: int, app: Flask, *, problem_type: str | None = None) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status and problem["request_id"] == response.headers["X-Request-Id"]
    if problem_type:
        assert problem["type"] == problem_type
    assert _definitions(app) == 0
    return problem


def test_xxe_reads_no_file(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-7f3a")
    hostile = _with_prolog(f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file://{secret}">]>'.encode(),
                           b"&xxe;")
    problem = _assert_refused(_upload(client, hostile), 422, app, problem_type="/problems/hostile-xml")
    assert "TOP-SECRET" not in str(problem)


def test_external_dtd_and_entities_are_never_fetched(app: Flask, client: FlaskClient,
                                                      listener: list[bytes]) -> None:
    port = listener[0].decode()
    for doctype, use in [
        (f'<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:{port}/evil.dtd">', b"x"),
        (f'<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://127.0.0.1:{port}/e.dtd"> %remote;]>', b"x"),
        (f'<!DOCTYPE d [<!ENTITY net SYSTEM "http://127.0.0.1:{port}/x">]>', b"&net;"),
    ]:
        _assert_refused(_upload(client, _with_prolog(doctype.encode(), use)), 422, app,
                        problem_type="/problems/hostile-xml")
    # An XInclude pointing at the listener is never processed, whatever becomes of the upload.
    xinclude = SAMPLE.replace(b"<bpmn:process ", f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" '
                              f'href="http://127.0.0.1:{port}/inc.xml"/><bpmn:process '.encode(), 1)
    _upload(client, xinclude)
    assert listener[1:] == []  # nothing connected


def test_billion_laughs_is_refused_at_once(app: Flask, client: FlaskClient) -> None:
    entities = b'<!ENTITY a0 "ha">' + b"".join(
        f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">'.encode() for i in range(1, 10))
    hostile = _with_prolog(b"<!DOCTYPE lol [" + entities + b"]>", b"&a9;")
    _assert_refused(_upload(client, hostile), 422, app, problem_type="/problems/hostile-xml")


def test_a_50_mb_body_is_413_before_anything_parses(app: Flask, client: FlaskClient) -> None:
    huge = SAMPLE + b"<!--" + b"x" * (50 * 1024 * 1024) + b"-->"
    problem = _assert_refused(_upload(client, huge), 413, app)
    assert problem["type"] == "/problems/request-entity-too-large"


def test_a_bpmn_file_over_its_own_limit_is_413(app: Flask, client: FlaskClient) -> None:
    limit = engine_state(app).settings.server.max_bpmn_bytes
    padded = SAMPLE + b"<!--" + b"x" * limit + b"-->"
    assert len(padded) < engine_state(app).settings.server.max_body_bytes
    problem = _assert_refused(_upload(client, padded), 413, app, problem_type="/problems/too-large")
    assert problem["limit"] == limit


@pytest.mark.parametrize("depth, problem_type", [(250, "/problems/hostile-xml"), (100_000, None)])
def test_deep_nesting_is_refused(app: Flask, client: FlaskClient, depth: int, problem_type: str | None) -> None:
    nested = b"<x>" * depth + b"</x>" * depth
    hostile = SAMPLE.replace(b"</bpmn:process>", b"<bpmn:extensionElements>" + nested
                             + b"</bpmn:extensionElements></bpmn:process>", 1)
    _assert_refused(_upload(client, hostile), 422, app, problem_type=problem_type)


def test_invalid_utf8_is_refused_naming_the_line(app: Flask, client: FlaskClient) -> None:
    broken = SAMPLE.replace("受理".encode(), b"\xff\xfe\xfd", 1)
    problem = _assert_refused(_upload(client, broken), 422, app, problem_type="/problems/invalid-bpmn")
    assert problem["line"] > 1 and "UTF-8" in problem["detail"]


def test_a_form_name_that_walks_out_of_forms_is_refused(app: Flask, client: FlaskClient) -> None:
    traversal = SAMPLE.replace(b'value="review.schema.json"', b'value="../../../etc/passwd.schema.json"', 1)
    problem = _assert_refused(_upload(client, traversal), 422, app)
    assert "root:" not in str(problem)


def test_a_lone_surrogate_nul_bytes_and_huge_ids_are_refused(client: FlaskClient, auth: Auth) -> None:
    clerk = auth.headers("c.li", "clerk", departments=["window"])
    body = b'{"variables": {"name": "\\ud800"}}'
    response = client.post("/api/process-definitions/key/sample_review/start", data=body,
                           content_type="application/json", headers=clerk)
    assert response.status_code == 400 and "surrogate" in response.get_json()["detail"]
    response = client.get("/api/process-instances?key=a%00b", headers=clerk)
    assert response.status_code == 400 and response.get_json()["type"] == "/problems/bad-request"
    response = client.get("/api/process-definitions/99999999999999999999999", headers=clerk)
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_an_unexpected_error_is_a_500_problem_with_the_request_id_and_no_traceback(
        app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.services import deployments

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(deployments, "list_definitions", boom)
    with caplog.at_level(logging.ERROR, logger="engine.api.problems"):
        response = client.get("/api/process-definitions", headers={"X-Request-Id": "trace-42"})
    assert response.status_code == 500 and response.headers["X-Request-Id"] == "trace-42"
    problem = response.get_json()
    assert problem["request_id"] == "trace-42" and "secret internals" not in response.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.name == "engine.api.problems"]
    assert record.exc_info and getattr(record, "request_id", None) in (None, "trace-42")
