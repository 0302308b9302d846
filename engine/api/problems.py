"""Every error as RFC 9457 application/problem+json; tracebacks go to the log, never to the client."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from engine.errors import Busy, EngineError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


def problem_response(body: dict, status: int, headers: dict[str, str] | None = None) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _engine_error(exc: EngineError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
    return problem_response(exc.to_problem(instance=request.path), exc.status, headers)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    slug = (exc.name or "error").lower().replace(" ", "-")
    body = {"type": f"/problems/{slug}", "title": exc.name, "status": status, "detail": exc.description,
            "instance": request.path}
    return problem_response(body, status)


def _unexpected(exc: Exception) -> Response:
    request_id = request.headers.get("X-Request-Id") or str(uuid.uuid4())
    log.exception("unhandled error", extra={"request_id": request_id})
    body = {"type": "/problems/internal-error", "title": "Internal error", "status": 500,
            "detail": f"request {request_id} failed; see the server log", "request_id": request_id}
    return problem_response(body, 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
