"""Hostile bodies, form data, uploads and names (DESIGN.md §3.6): invalid UTF-8, surrogates, NaN, JSON nested past
any parser, type confusion, oversized bodies; upload names that are paths, undecodable bytes or deceptions and
contents that lie about their type; path traversal in form, process and file names and in URLs. Each is refused
with a clear problem (or page) and changes nothing: no row, no stored file, no file content returned."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.dto import DefinitionOut
from tests.conftest import Auth, engine_state
from tests.reliability.hostile import (
    SAMPLE,
    Tally,
    inspector,
    leaks,
    post_multipart,
    problem_of,
    unchanged,
    upload_bpmn,
)


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Iterator[Tally]:
    tally = Tally(f"inputs-{request.node.originalname.removeprefix('test_')[:40]}")
    yield tally
    tally.write()


@pytest.fixture
def clerk(auth: Auth) -> dict[str, str]:
    return auth.headers("li.nrp", "clerk", departments=["nrp", "hc"])


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


BODIES: list[tuple[str, bytes]] = [
    ("invalid UTF-8", b'{"variables": {"decision": "approve", "opinion": "\xff\xfe\xfd"}}'),
    ("overlong UTF-8", b'{"variables": {"decision": "approve", "opinion": "\xc0\xaf\xc0\xae"}}'),
    ("lone surrogate", b'{"variables": {"decision": "approve", "opinion": "\\ud800 ok"}}'),
    ("NaN", b'{"variables": {"decision": "approve", "opinion": "ok ok", "score": NaN}}'),
    ("Infinity", b'{"variables": {"decision": "approve", "opinion": "ok ok", "score": -Infinity}}'),
    ("nested 40 deep", b'{"variables": {"decision": "approve", "opinion": "ok ok", "x": ' + _nested(40) + b"}}"),
    ("nested 100,000 deep", b'{"variables": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("a 5,000-digit number", b'{"variables": {"decision": "approve", "opinion": 1' + b"0" * 5000 + b"}}"),
    ("not JSON", b"decision=approve&opinion=ok"),
    ("a JSON array", b"[1, 2, 3]"),
    ("variables as a string", b'{"variables": "decision=approve"}'),
    ("type confusion", b'{"variables": {"decision": ["approve"], "opinion": {"$ne": 1}}}'),
    ("an operator object", b'{"variables": {"decision": {"$gt": ""}, "opinion": "ok ok"}}'),
    ("an unknown enum value", b'{"variables": {"decision": "approve\' OR 1=1 --", "opinion": "ok ok"}}'),
    ("extra dunder field", b'{"variables": {"decision": "approve", "opinion": "ok ok", "__class__": 1}}'),
    ("prototype pollution", b'{"variables": {"decision": "approve", "opinion": "ok ok", "__proto__": {"x": 1}}}'),
    ("missing required", b'{"variables": {"decision": "approve"}}'),
    ("opinion too long", json.dumps({"variables": {"decision": "approve", "opinion": "长" * 2001}}).encode()),
    ("duplicate keys", b'{"variables": {"decision": "reject", "decision": "approve"}, "variables": 1}'),
]


def test_hostile_bodies_for_a_task_form_and_a_start_are_refused_and_change_nothing(
        app: Flask, client: FlaskClient, deploy: Callable[..., DefinitionOut], clerk: dict[str, str],
        tally: Tally) -> None:
    deploy("sample_review")
    instance_id = client.post("/api/process-definitions/key/sample_review/start", json={},
                              headers=clerk).get_json()["id"]
    task_id = client.get(f"/api/tasks?processInstanceId={instance_id}", headers=clerk).get_json()["items"][0]["id"]
    targets = {"complete": f"/api/tasks/{task_id}/complete",
               "start": "/api/process-definitions/key/sample_review/start",
               "camunda complete": f"/engine-rest/task/{task_id}/complete"}
    with unchanged(app):
        for name, body in BODIES:
            for target, path in targets.items():
                if target == "start" and name in ("missing required", "opinion too long", "an unknown enum value",
                                                  "type confusion", "an operator object", "extra dunder field",
                                                  "prototype pollution"):
                    continue  # start variables have no form: these are ordinary data there
                response = client.post(path, data=body, content_type="application/json", headers=clerk)
                if target == "camunda complete":
                    assert 400 <= response.status_code < 500, (name, response.status_code)
                else:
                    problem = problem_of(response)
                    assert problem["status"] in (400, 413, 422), (name, target, problem)
                tally.count(f"json body ({target})")
        too_big = client.post(targets["complete"], data=b'{"variables": {"opinion": "' + b"x" * (6 << 20) + b'"}}',
                              content_type="application/json", headers=clerk)
        assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
        tally.count("json body (complete)")
    form_errors = client.post(targets["complete"], json={"variables": {"decision": "maybe", "opinion": "x"}},
                              headers=clerk).get_json()
    assert form_errors["type"] == "/problems/form-invalid" and all(
        any("\u4e00" <= ch <= "\u9fff" for ch in e["message"]) for e in form_errors["errors"])  # Chinese messages


TRAVERSALS = ["../../../etc/passwd", "..\\..\\config.toml", "/etc/passwd", "review.schema.json/../../config.toml",
              "..%2f..%2fconfig.toml", "C:\\Windows\\win.ini", "review\x00.schema.json", "~/.ssh/id_rsa",
              "file:///etc/passwd", "http://127.0.0.1:9/form.json", "forms/../../config.toml"]


def test_path_traversal_in_form_names_reads_no_file(app: Flask, client: FlaskClient, auth: Auth,
                                                    tally: Tally) -> None:
    """`formJsonSchemaFilename` names a plain file in forms/: anything else is refused at deploy. A
    `camunda:formKey` with "/" or ":" is another modeler's scheme (embedded:…, a path): deployed with a generic
    form and never read from disk (DESIGN.md §6); without them it means forms/<key>.schema.json, checked alike."""
    everyone = inspector(auth)
    for name in TRAVERSALS:
        with unchanged(app):
            text = SAMPLE.replace('value="review.schema.json"', f'value="{_attr(name)}"', 1)
            response = upload_bpmn(client, text.encode("utf-8"), "traversal.bpmn", everyone)
            assert not leaks(response), name
            assert problem_of(response)["type"] == "/problems/invalid-bpmn", name
        tally.count("form name")
        text = SAMPLE.replace('<spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json" />',
                              "", 1).replace(
            '<bpmn:userTask id="review_land" name="用地审查">',
            '<bpmn:userTask id="review_land" name="用地审查" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
            f'camunda:formKey="{_attr(name)}">', 1)
        response = upload_bpmn(client, text.encode("utf-8"), "traversal.bpmn", everyone)
        assert not leaks(response), name
        tally.count("form key")
        if response.status_code in (200, 201):
            assert "/" in name or ":" in name, name  # only another scheme is taken, as a generic form
            started = client.post("/api/process-definitions/key/sample_review/start", json={}, headers=everyone)
            tasks = client.get(f"/api/tasks?processInstanceId={started.get_json()['id']}",
                               headers=everyone).get_json()["items"]
            land = next(t for t in tasks if t["bpmn_id"] == "review_land")
            detail = client.get(f"/api/tasks/{land['id']}", headers=everyone)
            assert detail.status_code == 200 and not leaks(detail), name
        else:
            assert problem_of(response)["type"] == "/problems/invalid-bpmn", name


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("\x00", "&#0;")


def test_process_and_file_names_never_become_paths(app: Flask, client: FlaskClient, auth: Auth,
                                                    tally: Tally, tmp_path: Path) -> None:
    designer = inspector(auth)
    var = engine_state(app).settings.path(engine_state(app).settings.paths.var)
    before = sorted(p for p in tmp_path.rglob("*"))
    for file_name in ("../../../tmp/evil.bpmn", "..\\..\\evil.bpmn", "/etc/passwd", b"\xff\xfe.bpmn",
                      "a\x00b.bpmn", "%2e%2e%2f%2e%2e%2fevil.bpmn", "con.bpmn", "x" * 5000 + ".bpmn"):
        response = upload_bpmn(client, SAMPLE.encode("utf-8"), file_name, designer)
        assert response.status_code in (200, 201, 400, 413, 422), (file_name, response.status_code)
        if response.status_code in (200, 201):  # a label only: the basename, stored in the database
            stored = response.get_json()["file_name"]
            assert "/" not in stored and "\\" not in stored and "\x00" not in stored, stored
        tally.count("upload file name")
    assert sorted(p for p in tmp_path.rglob("*") if not p.is_relative_to(var)) == [
        p for p in before if not p.is_relative_to(var)]  # nothing written beside the database and var/
    with unchanged(app):
        for key in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "sample_review/../x", "%00", "' OR '1'='1"):
            response = client.post(f"/api/process-definitions/key/{key}/start", json={}, headers=designer)
            assert response.status_code in (400, 404, 405), (key, response.status_code)
            assert not leaks(response)
            tally.count("process key")


URL_TRAVERSALS = [
    "/web-static/../../config.toml", "/web-static/..%2f..%2fconfig.toml", "/web-static/%2e%2e/%2e%2e/config.toml",
    "/web-static/....//....//config.toml", "/web-static/..%5c..%5cconfig.toml", "/static/../../../etc/passwd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/documents/..%2f..%2f..%2fetc%2fpasswd",
    "/documents/../../etc/passwd", "/verify/..%2f..%2fetc%2fpasswd", "/api/process-definitions/key/..%2f..%2f/versions",
    "/api/process-instances/..%2f..%2fetc%2fpasswd", "/api/process-instances/%2e%2e/diagram.svg",
    "/api/tasks/..%2f..%2f", "/engine-rest/process-definition/key/..%2f..%2fetc", "/audit/instances/..%2f..%2f",
    "/projects/..%2f..%2fetc%2fpasswd", "/engine-rest/../config.toml", "/web-static/%00config.toml",
]


def test_path_traversal_in_urls_reads_no_file(app: Flask, client: FlaskClient, auth: Auth, tally: Tally) -> None:
    everyone = inspector(auth)
    with unchanged(app):
        for path in URL_TRAVERSALS:
            response = client.get(path, headers=everyone)
            assert response.status_code in (302, 400, 401, 403, 404, 405), (path, response.status_code)
            assert not leaks(response), path
            tally.count("url path")


# --- uploads through the applicants' portal ---------------------------------------------------------------------


@pytest.fixture
def draft(app: Flask, deploy: Callable[..., DefinitionOut]) -> tuple[FlaskClient, str]:
    portal = pytest.importorskip("tests.portal.support")
    deploy("commercial_project")
    client = app.test_client()
    assert portal.register(client, 31, "hostile-uploader").status_code == 302
    response = client.post("/portal/apply", data={**portal.PROJECT, "csrf_token": portal.token_of(client,
                                                                                                  "/portal/apply")})
    assert response.status_code == 302
    return client, str(response.location)


def _stored_files(app: Flask) -> list[Path]:
    settings = engine_state(app).settings
    root = settings.path(settings.paths.var) / "docstore"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_hostile_uploads_are_refused_whole_and_store_nothing(app: Flask, draft: tuple[FlaskClient, str],
                                                             tally: Tally) -> None:
    from tests.portal.support import exe_bytes, pdf_bytes, png_bytes

    client, path = draft
    pdf = pdf_bytes()
    cases: list[tuple[bytes | str, bytes]] = [
        ("../../../etc/cron.d/evil.pdf", pdf), ("..\\..\\boot.ini.pdf", pdf), ("/etc/passwd.pdf", pdf),
        ("C:evil.pdf", pdf), ("..%2f..%2fevil.pdf", pdf), ("报告\u202efdp.exe", pdf), ("CON.pdf", pdf),
        (".htaccess.pdf", pdf), ("x" * 500 + ".pdf", pdf),
        ("营业执照.pdf", exe_bytes()), ("图纸.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 100),
        ("说明.pdf", b"#!/bin/sh\nrm -rf /\n"), ("说明.pdf", b"<html><script>alert(1)</script></html>"),
        ("说明.pdf", b"%PDF-1.4\n<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF"),
        ("照片.pdf", png_bytes()), ("照片.png", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
        ("空.pdf", b""), ("截断.pdf", b"%PDF-1.7\n1 0 obj\n"), ("说明.pdf", b"\xff\xfe" + "文本".encode("utf-16-le")),
    ]
    _refused_whole(app, client, path, cases, tally)


# werkzeug's multipart parser raises on a file name that is not UTF-8 and leaves the in-memory spool of the part
# it had already read for the garbage collector (memory only, no file descriptor): the request is refused all
# the same. Its ResourceWarning is not ours to fix.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_upload_names_that_are_not_utf8_are_refused_and_store_nothing(app: Flask, draft: tuple[FlaskClient, str],
                                                                      tally: Tally) -> None:
    from tests.portal.support import pdf_bytes

    client, path = draft
    _refused_whole(app, client, path, [(b"\xff\xfe\xfd.pdf", pdf_bytes()), (b"\xc0\xaf\xc0\xae.pdf", pdf_bytes()),
                                       (b"\xed\xa0\x80.pdf", pdf_bytes())], tally)
    gc.collect()  # the parser's leftovers are collected here, under this test's warning filter


def _refused_whole(app: Flask, client: FlaskClient, path: str, cases: list[tuple[bytes | str, bytes]],
                   tally: Tally) -> None:
    from tests.portal.support import pdf_bytes, token_of
    from tests.reliability import snapshot

    pdf = pdf_bytes()
    db_engine = engine_state(app).db_engine
    for name, content in cases:
        before = snapshot.take(db_engine)
        fields: dict[str, tuple[bytes, bytes | str | None]] = {
            "csrf_token": (token_of(client, path).encode(), None),
            "file-CK-01-M1": (pdf, "申请表.pdf"), "file-CK-01-M2": (content, name)}
        response = post_multipart(client, f"{path}/files", fields, {})
        page = response.get_data(as_text=True)
        if isinstance(name, bytes):  # not decodable: the form parser refuses the request itself
            assert response.status_code in (400, 422), (name, response.status_code)
        else:
            assert response.status_code == 422, (name, response.status_code)
            assert "上传被拒绝，未保存任何文件" in page, (name, page[:300])
        assert snapshot.differences(before, snapshot.take(db_engine)) == [] and _stored_files(app) == []
        tally.count("upload")
