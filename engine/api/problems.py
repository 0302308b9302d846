"""Every error as RFC 9457 application/problem+json; tracebacks go to the log, never to the client.

Three handlers as in STYLE.md §6 (EngineError, werkzeug's HTTPException, any other Exception) plus one for the
OpenAPI library's request validation errors, which become `invalid-input` problems with per-field `errors`.
Every problem carries the request id (engine/api/request_ids.py).
"""

from __future__ import annotations

import logging
from typing import Any

from apiflask.exceptions import HTTPError as LibraryHTTPError
from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from engine.api.request_ids import current_request_id
from engine.errors import Busy, EngineError, InvalidInput

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
# The library's names for where a value came from, as our problems name them.
_LOCATIONS = {"json": "body", "files": "body", "form": "body", "form_and_files": "body", "json_or_form": "body",
              "query": "query", "querystring": "query", "path": "path", "view_args": "path", "headers": "header"}


def problem_response(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    body.setdefault("request_id", current_request_id())
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
    # Keep what the exception says about the response (Allow on 405, WWW-Authenticate, …), not its media type.
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return problem_response(body, status, headers)


def field_errors(detail: Any) -> list[dict[str, str]]:
    """The library's `{location: {field: [message, …]}}` as `[{field, location, message}, …]`."""
    errors = []
    for location, fields in (detail or {}).items():
        for field, messages in (fields or {}).items() if isinstance(fields, dict) else [("", fields)]:
            for message in messages if isinstance(messages, list) else [messages]:
                errors.append({"field": str(field), "location": _LOCATIONS.get(location, location),
                               "message": str(message)})
    return errors


def _library_error(exc: LibraryHTTPError) -> Response:
    """The request did not match the schema (422, from APIFlask's `@input`), or another error the library raised."""
    if exc.status_code == 422:
        errors = field_errors(exc.detail)
        summary = "; ".join(f"{e['field'] or e['location']}: {e['message']}" for e in errors[:5])
        problem = InvalidInput(f"the request does not match the API schema: {summary}", errors=errors)
        return problem_response(problem.to_problem(instance=request.path), 422)
    body = {"type": "/problems/error", "title": exc.message, "status": exc.status_code,
            "detail": exc.message, "instance": request.path}
    return problem_response(body, exc.status_code, dict(exc.headers or {}))


def _unexpected(exc: Exception) -> Response:
    request_id = current_request_id()
    log.exception("unhandled error", extra={"path": request.path, "method": request.method})
    body = {"type": "/problems/internal-error", "title": "Internal error", "status": 500,
            "detail": f"request {request_id} failed; see the server log", "request_id": request_id}
    return problem_response(body, 500)


def init_app(app: Flask) -> None:
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(LibraryHTTPError, _library_error)
    app.register_error_handler(Exception, _unexpected)
