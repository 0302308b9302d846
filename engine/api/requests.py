"""Small request helpers shared by the blueprints."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.errors import InvalidInput

MAX_LIMIT = 200


def json_body() -> dict[str, Any]:
    if not request.data:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


def page() -> tuple[int, int]:
    try:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", 50))
    except ValueError as exc:
        raise InvalidInput("offset and limit must be integers") from exc
    if offset < 0 or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}")
    return offset, limit


def object_field(body: dict[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"'{name}' must be a JSON object")
    return value
