"""Small request helpers shared by the blueprints."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Request, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from engine.errors import InvalidInput

MAX_LIMIT = 200
# A JSON escape of a UTF-16 surrogate; only then can a parsed body hold a lone surrogate (not encodable as UTF-8).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class ApiRequest(Request):
    """Flask's request, with JSON bodies read the way the API documents them: an empty body is no body (the
    schema's defaults apply), and a body that could not be stored as UTF-8 (a lone surrogate) is a 400."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        if not self.get_data(cache=True):
            return None
        try:
            body = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError as exc:  # the parser itself gave up: far too deep
            if silent:
                return None
            raise BadRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels") from exc
        problem = _shape_problem(body)
        if problem is not None:  # issue 13: these broke the engine later (deep copies, NaN in stored JSON)
            if silent:
                return None
            raise BadRequest(problem)
        if body is not None and _SURROGATE_ESCAPE.search(self.get_data(cache=True)):
            try:
                json.dumps(body, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError as exc:
                if silent:
                    return None
                raise BadRequest("the JSON body holds a lone UTF-16 surrogate, which is not text") from exc
        return body


MAX_JSON_DEPTH = 32  # forms and variables are a few levels deep; Spiff deep-copies task data recursively


def _shape_problem(body: Any) -> str | None:
    """Why a parsed body cannot be taken: nested too deeply, or NaN/Infinity (Python's parser accepts them,
    JSON has no such values and every later JSON writer would choke on them)."""
    stack = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return "the JSON body holds NaN or Infinity, which are not JSON numbers"
        if isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                return f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels"
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return None


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


class BoundedIntConverter(IntegerConverter):
    """`<int:…>` in URL rules, limited to what the database stores: a larger number matches no route (404)
    instead of overflowing the driver."""

    def __init__(self, map: Any, fixed_digits: int = 0, min: int | None = None, max: int | None = 2**63 - 1,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
