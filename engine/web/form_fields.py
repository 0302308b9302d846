"""Turn a task's JSON Schema (forms/*.schema.json, + optional ui hints) into fields to render, and the
posted HTML form back into typed data for `validate_form`.

Supported: string (text; `textarea` when long or `ui:widget`), enum with `x-labels` (select, or radio with
`ui:widget: radio`), integer and number, boolean (checkbox), string `format: date`, and arrays of enums
(checkboxes). Anything else is shown read-only as JSON and passed through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

LONG_TEXT = 200


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    widget: str  # text, textarea, select, radio, number, checkbox, date, checkboxes, readonly
    required: bool
    description: str | None = None
    choices: list[Choice] = field(default_factory=list)
    step: str | None = None
    min_length: int | None = None
    max_length: int | None = None


def _choices(prop: dict[str, Any]) -> list[Choice]:
    labels = prop.get("x-labels") or {}
    return [Choice(str(v), str(labels.get(str(v), v))) for v in prop.get("enum", [])]


def fields(schema: dict[str, Any] | None, ui: dict[str, Any] | None = None) -> list[Field]:
    if not schema:
        return []
    ui = ui or {}
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    order = [n for n in ui.get("ui:order", []) if n in props] + [n for n in props if n not in ui.get("ui:order", [])]
    out = []
    for name in order:
        prop, hint = props[name], (ui.get(name) or {})
        kind, widget = prop.get("type"), hint.get("ui:widget")
        common = {"name": name, "title": str(prop.get("title") or name), "required": name in required,
                  "description": prop.get("description")}
        if "enum" in prop:
            out.append(Field(widget="radio" if widget == "radio" else "select", choices=_choices(prop), **common))
        elif kind == "string" and prop.get("format") == "date":
            out.append(Field(widget="date", **common))
        elif kind == "string":
            long = widget == "textarea" or (prop.get("maxLength") or 0) > LONG_TEXT
            out.append(Field(widget="textarea" if long else "text", min_length=prop.get("minLength"),
                             max_length=prop.get("maxLength"), **common))
        elif kind in ("integer", "number"):
            out.append(Field(widget="number", step="1" if kind == "integer" else "any", **common))
        elif kind == "boolean":
            out.append(Field(widget="checkbox", **common))
        elif kind == "array" and "enum" in (prop.get("items") or {}):
            out.append(Field(widget="checkboxes", choices=_choices(prop["items"]), **common))
        else:
            out.append(Field(widget="readonly", **common))
    return out


def _number(raw: str, kind: str) -> Any:
    try:
        return int(raw) if kind == "integer" else float(raw)
    except ValueError:
        return raw  # left as text: the validator names the field and says a number is expected


def parse(schema: dict[str, Any] | None, form: MultiDict[str, str]) -> dict[str, Any]:
    """Posted values -> typed data. Empty inputs are left out, so `required` reports them."""
    if not schema:
        return {}
    data: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        kind = prop.get("type")
        if kind == "boolean":
            data[name] = form.get(name) in ("on", "true", "1")
        elif kind == "array":
            values = [v for v in form.getlist(name) if v != ""]
            if values:
                data[name] = values
        else:
            raw = (form.get(name) or "").strip()
            if raw == "":
                continue
            data[name] = _number(raw, kind) if kind in ("integer", "number") and "enum" not in prop else raw
    return data


def prefill(schema: dict[str, Any] | None, *sources: dict[str, Any] | None) -> dict[str, Any]:
    """Initial values: the first source that has a field (posted data, draft), else the schema's default."""
    values: dict[str, Any] = {}
    for name, prop in (schema or {}).get("properties", {}).items():
        for source in sources:
            if source and name in source:
                values[name] = source[name]
                break
        else:
            if "default" in prop:
                values[name] = prop["default"]
    return values
