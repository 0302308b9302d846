"""Request ids, an access log line and request hygiene, for every request (API and pages).

- `X-Request-Id`: taken from the request when it is a sane token (a proxy's or a client's id), else made here;
  returned in the response header, in every problem body and on every log record written meanwhile.
- One `engine.http` log line per request: method, path, status, duration, user (INFO; `approvals -v serve`).
- NUL bytes in the path or query string are refused (400) before any view runs: no database stores them.
- 4xx/5xx responses are counted by status for /metrics.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, has_request_context, request
from werkzeug.exceptions import BadRequest

from engine import logs, metrics

HEADER = "X-Request-Id"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
log = logging.getLogger("engine.http")


def current_request_id() -> str | None:
    if has_request_context() and "request_id" in g:
        return str(g.request_id)
    return logs.request_id.get()


def _begin() -> None:
    incoming = request.headers.get(HEADER, "")
    g.request_id = incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()
    g.request_id_token = logs.request_id.set(g.request_id)
    if "\x00" in request.path or b"%00" in request.query_string or b"\x00" in request.query_string:
        raise BadRequest("NUL bytes are not allowed in the path or the query string")


def _finish(response: Response) -> Response:
    rid = g.get("request_id")
    if rid:
        response.headers[HEADER] = rid
    if response.status_code >= 400:
        metrics.HTTP_ERRORS.inc(status=str(response.status_code))
    started = g.get("request_started")
    principal = g.get("principal")
    log.info("%s %s %s", request.method, request.path, response.status_code, extra={
        "method": request.method, "path": request.path, "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "user": getattr(principal, "username", None)})
    return response


def _end(_exc: BaseException | None = None) -> None:
    token = g.pop("request_id_token", None)
    if token is not None:
        logs.request_id.reset(token)


def init_app(app: Flask) -> None:
    """Register first, so that even a request refused by the access check has its id."""
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_end)
