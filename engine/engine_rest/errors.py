"""Camunda's error body for /engine-rest: `{"type": "<exception class>", "message": "…", "code": 0}` with Camunda's
status codes (never problem+json). Registered on the blueprint, so the app's /api problem handlers stay as they
are; errors raised while authenticating a /engine-rest request land here too (Flask picks the blueprint's
handlers by the matched route)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Blueprint, Response, json, request
from werkzeug.exceptions import HTTPException

from engine.errors import (
    Busy,
    Conflict,
    EngineError,
    FormInvalid,
    Forbidden,
    InstanceNotRunning,
    InvalidBpmn,
    InvalidInput,
    JobNotClaimed,
    JobNotOpen,
    NotFound,
    ProcessFailure,
    TaskAlreadyCompleted,
    TaskClaimedByOther,
    Unauthenticated,
)
from engine.models import OPEN_JOB_STATUSES

log = logging.getLogger(__name__)


class CamundaRestError(Exception):
    """An error answered exactly as Camunda's REST API would (status, exception type, message)."""

    def __init__(self, status: int, type_: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.extra = status, type_, message, extra


def invalid_request(message: str) -> CamundaRestError:
    return CamundaRestError(400, "InvalidRequestException", message)


def error_response(status: int, type_: str, message: str, headers: dict[str, str] | None = None,
                   **extra: Any) -> Response:
    body = {"type": type_, "message": message, "code": 0, **extra}
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _mapped(exc: EngineError) -> tuple[int, str]:
    """Our engine errors as Camunda answers the same situation."""
    if isinstance(exc, Unauthenticated):
        return 401, "AuthenticationException"
    if isinstance(exc, Forbidden):
        return 403, "AuthorizationException"
    if isinstance(exc, JobNotClaimed):  # locked by another worker, or not locked at all
        return 400, "BadUserRequestException"
    if isinstance(exc, JobNotOpen):
        # A job that is open but not locked by this worker (available, or in an incident with 0 retries) still
        # exists in Camunda: reporting on it is a bad request. A completed or cancelled one is gone.
        if exc.extensions.get("job_status") in OPEN_JOB_STATUSES:
            return 400, "BadUserRequestException"
        return 404, "NotFoundException"
    if isinstance(exc, TaskClaimedByOther):
        return 500, "TaskAlreadyClaimedException"
    if isinstance(exc, TaskAlreadyCompleted):
        return 404, "NotFoundException"
    if isinstance(exc, InstanceNotRunning):
        return 400, "SuspendedEntityInteractionException"
    if isinstance(exc, NotFound):
        return 404, "NotFoundException"
    if isinstance(exc, (InvalidInput, Conflict)):
        return 400, "InvalidRequestException"
    if isinstance(exc, Busy):
        return 503, "OptimisticLockingException"
    if isinstance(exc, ProcessFailure):
        return 500, "ProcessEngineException"
    return exc.status, "ProcessEngineException"


def _engine_error(exc: EngineError) -> Response:
    status, type_ = _mapped(exc)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Basic realm="approvals"'
    if isinstance(exc, Busy):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, FormInvalid):
        extra["errors"] = exc.extensions.get("errors", [])
    if isinstance(exc, InvalidBpmn) and "findings" in exc.extensions:
        extra["findings"] = exc.extensions["findings"]
    return error_response(status, type_, exc.detail, headers, **extra)


def _camunda_error(exc: CamundaRestError) -> Response:
    return error_response(exc.status, exc.type, exc.message, **exc.extra)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    type_ = {404: "NotFoundException", 405: "RestException", 413: "RestException"}.get(status, "RestException")
    return error_response(status, type_, exc.description or exc.name)


def _unexpected(exc: Exception) -> Response:
    request_id = request.headers.get("X-Request-Id") or str(uuid.uuid4())
    log.exception("unhandled error in /engine-rest", extra={"request_id": request_id})
    return error_response(500, "ProcessEngineException", f"request {request_id} failed; see the server log")


def register(bp: Blueprint) -> None:
    bp.register_error_handler(CamundaRestError, _camunda_error)
    bp.register_error_handler(EngineError, _engine_error)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(Exception, _unexpected)
    from engine.api import db_faults  # database down, locked or full: Camunda's 503 body, not a 500 (issue 13)

    db_faults.register(bp)
