"""Hostile BPMN uploads (DESIGN.md §3.6): entity expansion, external entities and DTDs (file and network),
encodings that hide a DOCTYPE from a byte scan, XInclude, oversized and deeply nested XML, invalid UTF-8 and
things that are not XML at all. Each is refused with a clear problem before anything resolves or changes: no
file content comes back, no network request is made, no row is written."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Auth
from tests.reliability.hostile import SAMPLE, Tally, leaks, post_multipart, problem_of, unchanged, upload_bpmn

PROLOG = '<?xml version="1.0" encoding="UTF-8"?>'


class Listener:
    """A local HTTP server that counts the requests an XML parser would make for external entities or DTDs."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'<!ENTITY leak "LEAKED">')

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


def _prolog(extra: str, name: str = "受理") -> str:
    text = SAMPLE.replace(PROLOG, f"{PROLOG}\n{extra}", 1)
    return text.replace('name="受理"', f'name="{name}"', 1)


def _nested(depth: int) -> str:
    deep = "<x>" * depth + "</x>" * depth
    return SAMPLE.replace("<bpmn:startEvent id=\"start\" name=\"受理\">",
                          f"<bpmn:startEvent id=\"start\" name=\"受理\"><bpmn:documentation>{deep}"
                          "</bpmn:documentation>", 1)


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")  # UTF-16 of ASCII text passes a UTF-8 check


def cases(url: str, tmp: Path) -> list[tuple[str, bytes]]:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    secret = tmp / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    text_cases = [
        ("billion laughs", _prolog(f'<!DOCTYPE d [<!ENTITY l0 "lol">{lol}]>', "&l9;")),
        ("quadratic blowup", _prolog(f'<!DOCTYPE d [<!ENTITY a "{"x" * 50_000}">]>', "&a;" * 2000)),
        ("external entity: file", _prolog(f'<!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>', "&x;")),
        ("external entity: /etc/passwd", _prolog('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;")),
        ("external entity: network", _prolog(f'<!DOCTYPE d [<!ENTITY x SYSTEM "{url}/x">]>', "&x;")),
        ("parameter entity", _prolog(f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]>', "&leak;")),
        ("external DTD", _prolog(f'<!DOCTYPE bpmn:definitions SYSTEM "{url}/x.dtd">', "&leak;")),
        ("public DTD", _prolog(f'<!DOCTYPE d PUBLIC "-//X//DTD//EN" "{url}/pub.dtd">')),
        ("lower-case doctype", _prolog('<!doctype d [<!entity x SYSTEM "file:///etc/passwd">]>', "&x;")),
        ("spaced doctype", _prolog('<!  DOCTYPE d [<!ENTITY x "y">]>', "&x;")),
        ("DTD without entities", _prolog('<!DOCTYPE bpmn:definitions>')),
        ("ELEMENT/ATTLIST declarations", _prolog('<!DOCTYPE d [<!ATTLIST bpmn:startEvent name CDATA "默认">]>')),
        ("XInclude of /etc/passwd", SAMPLE.replace(
            '<bpmn:startEvent id="start" name="受理">',
            '<bpmn:startEvent id="start" name="受理"><bpmn:documentation><xi:include '
            'xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
            '</bpmn:documentation>', 1)),
        ("nested 250 deep", _nested(250)),
        ("nested 100,000 deep", _nested(100_000)),
        ("truncated document", SAMPLE[: len(SAMPLE) // 2]),
        ("NUL byte", SAMPLE.replace('name="受理"', 'name="受\x00理"', 1)),
        ("control characters", SAMPLE.replace('name="受理"', 'name="\x01\x02\x1b[31m"', 1)),
        ("two root elements", SAMPLE + "<bpmn:definitions/>"),
        ("empty file", ""),
        ("only a prolog", PROLOG),
    ]
    out = [(name, text.encode("utf-8")) for name, text in text_cases]
    utf8 = SAMPLE.encode("utf-8")
    doctype = _prolog('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;")
    out += [
        ("DOCTYPE hidden in UTF-16 (no BOM)",
         doctype.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")),
        ("ASCII DOCTYPE in UTF-16 (no BOM)", _ascii(doctype).replace('encoding="UTF-8"', 'encoding="UTF-16"')
         .encode("utf-16-le")),
        ("ASCII DTD without entities in UTF-16", _ascii(_prolog("<!DOCTYPE bpmn:definitions>"))
         .replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")),
        ("DOCTYPE hidden in UTF-16 (BOM)", doctype.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")),
        ("DOCTYPE hidden in UTF-32", doctype.replace('encoding="UTF-8"', 'encoding="UTF-32"').encode("utf-32")),
        ("invalid UTF-8: 0xFF", utf8.replace("受理".encode(), b"\xff\xfe")),
        ("invalid UTF-8: lone continuation byte", utf8.replace("受理".encode(), b"\x80abc")),
        ("invalid UTF-8: overlong slash", utf8.replace("受理".encode(), b"\xc0\xaf\xc0\xae")),
        ("invalid UTF-8: encoded surrogate", utf8.replace("受理".encode(), b"\xed\xa0\x80")),
        ("invalid UTF-8: truncated sequence", utf8.replace("受理".encode(), "受".encode()[:2])),
        ("Latin-1 declared, GBK bytes", SAMPLE.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
         .encode("gbk")),
        ("a PNG", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("a ZIP", b"PK\x03\x04" + b"\x00" * 64),
        ("oversized: 2 MiB + 1", utf8 + b"<!--" + b"x" * (2 * 1024 * 1024) + b"-->"),
    ]
    return out


def test_every_hostile_bpmn_upload_is_refused_without_resolving_anything(
        app: Flask, client: FlaskClient, auth: Auth, listener: Listener, tmp_path: Path) -> None:
    designer = auth.headers("designer", "designer")
    tally = Tally("xml")
    all_cases = cases(listener.url, tmp_path)
    with unchanged(app):
        for name, data in all_cases:
            response = upload_bpmn(client, data, "hostile.bpmn", designer)
            problem = problem_of(response)
            assert problem["type"] in ("/problems/hostile-xml", "/problems/invalid-bpmn", "/problems/too-large"), \
                (name, problem)
            assert not leaks(response), name
            tally.count("bpmn upload")
        # Over the request limit ([server] max_body_bytes): refused before the body is read.
        huge = upload_bpmn(client, b"<x>" + b"y" * (6 * 1024 * 1024), "huge.bpmn", designer)
        assert huge.status_code == 413 and huge.mimetype == "application/problem+json"
        tally.count("bpmn upload")
        # The same documents through Camunda's deployment endpoint: Camunda's error body, nothing deployed.
        for name, data in all_cases[:12]:
            response = post_multipart(client, "/engine-rest/deployment/create",
                                      {"deployment-name": (b"hostile", None), "data": (data, "hostile.bpmn")},
                                      designer)
            assert 400 <= response.status_code < 500 and response.get_json()["type"], (name, response.status_code)
            assert not leaks(response), name
            tally.count("camunda deployment")
    assert listener.hits == []  # nothing reached out to the network
    assert client.get("/api/process-definitions", headers=designer).get_json()["items"] == []
    tally.write()
