"""Camunda's typed variables, both ways: `{"x": {"value": 1, "type": "Integer", "valueInfo": {}}}` <-> our plain
JSON task data (`{"x": 1}`).

In (requests): String, Integer, Short, Long, Double, Boolean, Null, Json (a JSON text), Object with
`serializationDataFormat` application/json (a JSON text; `objectTypeName` is dropped), Date
(`yyyy-MM-dd'T'HH:mm:ss.SSSZ`, also ISO 8601 with `Z` or `+hh:mm`) and an untyped `{"value": …}` (the JSON value
as it is). Type names are case-insensitive (the JS client sends `integer`, `json`). Bytes, File, Xml and Java
serialized objects are refused with 400: they have no JSON form.
Out (responses): None -> Null, bool -> Boolean, int -> Integer (32-bit) or Long (64-bit) or Double, float ->
Double, a dict or list -> Json (its JSON text, as Camunda sends it), a string in Camunda's own date format
(`2026-03-02T09:00:00.000+0800`, which is how an incoming Date is stored) -> Date, any other string -> String.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from engine.engine_rest.errors import invalid_request

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
SHORT_RANGE = (-(2**15), 2**15 - 1)
# Camunda's REST date format; stored variables in exactly this shape come back typed Date.
_CAMUNDA_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$")
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$")
_JSON_FORMAT = "application/json"


def camunda_date(value: datetime) -> str:
    """Camunda's `yyyy-MM-dd'T'HH:mm:ss.SSSZ`: milliseconds and an offset without colon (+0000 for UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + value.strftime("%z")


def parse_date(text: Any, name: str) -> str:
    """A Date variable's value in Camunda's format (offset kept), or 400."""
    match = _ISO_DATE.match(text) if isinstance(text, str) else None
    if match is None:
        raise invalid_request(f"Cannot convert value '{text}' of variable '{name}' to type Date: expected "
                              "yyyy-MM-dd'T'HH:mm:ss.SSSZ (e.g. 2026-03-02T09:00:00.000+0800)")
    stamp, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{stamp}{(fraction or '.0')[:7]}{zone}")
    except ValueError as exc:
        raise invalid_request(f"Cannot convert value '{text}' of variable '{name}' to type Date: {exc}") from None
    return camunda_date(parsed)


def _integer(value: Any, name: str, type_name: str, bounds: tuple[int, int]) -> int:
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d{1,20}", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise invalid_request(f"Cannot convert value '{value}' of variable '{name}' to type {type_name}")
    return value


def _json_text(value: Any, name: str, type_name: str) -> Any:
    if not isinstance(value, str):
        return value  # some clients send the structure itself
    try:
        return json.loads(value)
    except ValueError as exc:
        raise invalid_request(f"Cannot deserialize the {type_name} value of variable '{name}': {exc}") from None


def _one(name: str, typed: Any) -> Any:
    if not isinstance(typed, dict):
        raise invalid_request(f"variable '{name}' must be an object like {{\"value\": …, \"type\": \"String\"}}")
    value, type_name = typed.get("value"), typed.get("type")
    if type_name is None or type_name == "":
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise invalid_request(f"variable '{name}' must hold a JSON value") from None
        return value
    if not isinstance(type_name, str):
        raise invalid_request(f"the type of variable '{name}' must be a string")
    kind = type_name.lower()
    if value is None and kind != "bytes" and kind != "file":
        return None  # Camunda accepts a null value for every primitive type
    if kind == "string":
        if not isinstance(value, str):
            raise invalid_request(f"Cannot convert value '{value}' of variable '{name}' to type String")
        return value
    if kind == "integer":
        return _integer(value, name, "Integer", INT_RANGE)
    if kind == "long":
        return _integer(value, name, "Long", LONG_RANGE)
    if kind == "short":
        return _integer(value, name, "Short", SHORT_RANGE)
    if kind == "double":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise invalid_request(f"Cannot convert value '{value}' of variable '{name}' to type Double")
        return float(value)
    if kind == "boolean":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise invalid_request(f"Cannot convert value '{value}' of variable '{name}' to type Boolean")
        return value
    if kind == "null":
        return None
    if kind == "date":
        return parse_date(value, name)
    if kind == "json":
        return _json_text(value, name, "Json")
    if kind == "object":
        info = typed.get("valueInfo") or {}
        data_format = info.get("serializationDataFormat") if isinstance(info, dict) else None
        if data_format not in (None, _JSON_FORMAT):
            raise invalid_request(f"variable '{name}': Object values must be serialized as {_JSON_FORMAT}, not "
                                  f"{data_format} (Java serialization has no meaning here)")
        return _json_text(value, name, "Object")
    if kind in ("bytes", "file", "xml"):
        raise invalid_request(f"variable '{name}': the {type_name} type is not supported (variables are JSON)")
    raise invalid_request(f"Unsupported value type '{type_name}' of variable '{name}'")


def from_camunda(variables: Any, field: str = "variables") -> dict[str, Any]:
    """Typed variables from a request body (None or missing = none) as plain JSON values. Raises 400."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise invalid_request(f"'{field}' must be an object of variable name -> {{value, type}}")
    result = {}
    for name, typed in variables.items():
        if not isinstance(name, str) or not name.strip():
            raise invalid_request(f"every name in '{field}' must be a non-empty string")
        result[name] = _one(name, typed)
    return result


def typed(value: Any) -> dict[str, Any]:
    """One plain value as Camunda's typed value."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        if INT_RANGE[0] <= value <= INT_RANGE[1]:
            return {"type": "Integer", "value": value, "valueInfo": {}}
        if LONG_RANGE[0] <= value <= LONG_RANGE[1]:
            return {"type": "Long", "value": value, "valueInfo": {}}
        return {"type": "Double", "value": float(value), "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, str):
        if _CAMUNDA_DATE.match(value):
            return {"type": "Date", "value": value, "valueInfo": {}}
        return {"type": "String", "value": value, "valueInfo": {}}
    if isinstance(value, datetime):
        return {"type": "Date", "value": camunda_date(value), "valueInfo": {}}
    if isinstance(value, (dict, list, tuple)):
        return {"type": "Json", "value": json.dumps(value, ensure_ascii=False, default=str), "valueInfo": {}}
    return {"type": "String", "value": str(value), "valueInfo": {}}


def to_camunda(variables: dict[str, Any], names: Iterable[str] | None = None) -> dict[str, Any]:
    """Plain variables as typed ones; `names` (Camunda's `variables` filter) keeps only those that exist."""
    wanted = None if names is None else set(names)
    return {name: typed(value) for name, value in variables.items() if wanted is None or name in wanted}
