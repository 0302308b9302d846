"""Shared pieces of the hostile-input campaign (DESIGN.md §3.6): who sends, how a refusal must look, and a tally
of the inputs tried (written to test-output/reliability/hostile-<name>.json for the report)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.auth.roles import Role
from tests.conftest import ROOT, Auth, engine_state
from tests.reliability import snapshot

SAMPLE = (ROOT / "processes" / "sample_review.bpmn").read_text(encoding="utf-8")
SECRET_MARKERS = ("root:x:0:0", "root:*:0:0", "[database]", "hmac_key")  # file contents that must never come back
ALL_ROLES = tuple(r.value for r in Role)


def problem_of(response: TestResponse) -> dict[str, Any]:
    """A refusal is a 4xx with a problem+json body that says what is wrong."""
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json", response.mimetype
    body = response.get_json()
    assert body["type"].startswith("/problems/") and body["detail"], body
    return dict(body)


def leaks(response: TestResponse) -> bool:
    text = response.get_data(as_text=True)
    return any(marker in text for marker in SECRET_MARKERS)


@dataclass
class Tally:
    """Hostile inputs tried, by category."""

    name: str
    tried: dict[str, int] = field(default_factory=dict)

    def count(self, category: str, n: int = 1) -> None:
        self.tried[category] = self.tried.get(category, 0) + n

    @property
    def total(self) -> int:
        return sum(self.tried.values())

    def write(self) -> None:
        out = ROOT / "test-output" / "reliability"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"hostile-{self.name}.json").write_text(
            json.dumps({"total": self.total, **self.tried}, ensure_ascii=False, indent=2), encoding="utf-8")
        print(f"\nhostile inputs ({self.name}): {self.total} {self.tried}")


@contextmanager
def unchanged(app: Flask) -> Iterator[None]:
    """Every row of every table is the same after the block."""
    db_engine = engine_state(app).db_engine
    before = snapshot.take(db_engine)
    yield
    assert snapshot.differences(before, snapshot.take(db_engine)) == []


def inspector(auth: Auth) -> dict[str, str]:
    """A user holding every role (admin scope): routes refuse only for what was sent, never for who sent it."""
    return auth.headers("inspector", *ALL_ROLES)


BOUNDARY = "hostile-boundary-7d1f"


def multipart(fields: dict[str, tuple[bytes, bytes | str | None]]) -> bytes:
    """A multipart/form-data body built by hand: file names may be any bytes (invalid UTF-8, NUL, traversal),
    and large bodies need no temporary file (werkzeug's test builder spools those to disk)."""
    out = b""
    for field_name, (data, file_name) in fields.items():
        disposition = f'form-data; name="{field_name}"'.encode()
        if file_name is not None:
            raw = file_name.encode() if isinstance(file_name, str) else file_name
            disposition += b'; filename="' + raw + b'"'
        out += (f"--{BOUNDARY}\r\n".encode() + b"Content-Disposition: " + disposition + b"\r\n"
                b"Content-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    return out + f"--{BOUNDARY}--\r\n".encode()


def post_multipart(client: FlaskClient, path: str, fields: dict[str, tuple[bytes, bytes | str | None]],
                   headers: dict[str, str]) -> TestResponse:
    return client.post(path, data=multipart(fields), content_type=f"multipart/form-data; boundary={BOUNDARY}",
                       headers=headers)


def upload_bpmn(client: FlaskClient, data: bytes, name: bytes | str, headers: dict[str, str]) -> TestResponse:
    return post_multipart(client, "/api/process-definitions", {"file": (data, name)}, headers)
