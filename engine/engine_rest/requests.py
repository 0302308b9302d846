"""Reading Camunda-style requests: JSON bodies, query booleans and integers, firstResult/maxResults paging."""

from __future__ import annotations

from typing import Any

from flask import request

from engine.engine_rest.errors import invalid_request

MAX_RESULTS = 1000
MAX_OFFSET = 2**31 - 1


def body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise invalid_request("the request body must be a JSON object")
    return data


def query_bool(name: str) -> bool | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    if value.lower() not in ("true", "false"):
        raise invalid_request(f"Cannot set query parameter '{name}' to value '{value}': expected true or false")
    return value.lower() == "true"


def body_int(data: dict[str, Any], name: str, *, default: int | None = None, minimum: int = 0) -> int | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise invalid_request(f"'{name}' must be an integer >= {minimum}, not {value!r}")
    return value


def paging() -> tuple[int, int | None]:
    """Camunda's firstResult / maxResults (no maxResults: everything, capped at MAX_RESULTS)."""
    values = []
    for name in ("firstResult", "maxResults"):
        raw = request.args.get(name)
        if raw is None or raw == "":
            values.append(None)
            continue
        try:
            number = int(raw)
        except ValueError:
            raise invalid_request(f"Cannot set query parameter '{name}' to value '{raw}'") from None
        if not 0 <= number <= MAX_OFFSET:  # beyond a database integer: a 500 from the driver (issue 13)
            raise invalid_request(f"'{name}' must be between 0 and {MAX_OFFSET}")
        values.append(number)
    first, most = values
    return first or 0, MAX_RESULTS if most is None else min(most, MAX_RESULTS)
