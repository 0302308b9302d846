"""Form files (JSON Schema 2020-12) and server-side validation with Chinese field messages."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from engine.errors import FieldError, FormInvalid, InvalidBpmn

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.schema\.json$")
_TYPE_NAMES = {"string": "文本", "integer": "整数", "number": "数字", "boolean": "是/否", "object": "对象", "array": "列表"}


def read_form(forms_dir: Path, name: str, *, bpmn_file: str, element_id: str | None = None) -> dict[str, Any]:
    """Load and check one referenced form file; names are plain file names inside forms/ (no traversal)."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise InvalidBpmn(f"{bpmn_file}: form name {name!r} must be a plain '<key>.schema.json' file name",
                          file=bpmn_file, element_id=element_id)
    path = forms_dir / name
    if not path.is_file():
        raise InvalidBpmn(f"{bpmn_file}: form file forms/{name} does not exist (element {element_id})",
                          file=bpmn_file, element_id=element_id)
    try:
        text = path.read_text(encoding="utf-8")
        _check_schema(text)
    except (UnicodeDecodeError, json.JSONDecodeError, SchemaError) as exc:
        raise InvalidBpmn(f"forms/{name}: not a valid JSON Schema: {exc}", file=f"forms/{name}",
                          element_id=element_id) from exc
    return json.loads(text)  # a fresh dict each call: callers may keep or change it


@lru_cache(maxsize=64)
def _check_schema(text: str) -> None:
    """Raise unless the text is a valid JSON Schema. Checking against the metaschema costs ~30 ms a form, and
    submissions read their form on every call, so a text that passed once is not checked again (an edited file
    is a new text; failures raise and are not cached)."""
    Draft202012Validator.check_schema(json.loads(text))


def _field_title(schema: dict[str, Any], name: str) -> str:
    prop = schema.get("properties", {}).get(name, {})
    return str(prop.get("title") or name)


def _message(error: ValidationError) -> str:
    v, expected = error.validator, error.validator_value
    if v == "required":
        return "此项为必填项"
    if v == "type":
        types = expected if isinstance(expected, list) else [expected]
        return "类型应为" + "或".join(_TYPE_NAMES.get(t, t) for t in types)
    if v == "enum":
        return "取值必须是以下之一：" + "、".join(str(x) for x in expected)
    if v == "const":
        return f"取值必须为 {expected}"
    if v == "minLength":
        return f"长度不能少于 {expected} 个字符"
    if v == "maxLength":
        return f"长度不能超过 {expected} 个字符"
    if v == "minimum":
        return f"不能小于 {expected}"
    if v == "maximum":
        return f"不能大于 {expected}"
    if v == "pattern":
        return "格式不正确"
    if v == "format":
        return f"格式不正确（应为 {expected}）"
    if v == "additionalProperties":
        return "包含表单未定义的字段"
    if v == "minItems":
        return f"至少选择 {expected} 项"
    return "取值无效"


def validate_form(schema: dict[str, Any], data: Any) -> dict[str, Any]:
    """Return the data if it satisfies the schema; else raise FormInvalid with one Chinese message per field."""
    if not isinstance(data, dict):
        raise FormInvalid([FieldError("", "表单数据必须是对象")])
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors: list[FieldError] = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            name = missing[0] if missing else ""
            path = ".".join([*map(str, error.path), name]) if name else ".".join(map(str, error.path))
            title = _field_title(schema, name) if not error.path else name
        elif error.validator == "additionalProperties":
            extra = sorted(set(data) - set(schema.get("properties", {}))) if not error.path else []
            path, title = ",".join(extra) or ".".join(map(str, error.path)), ",".join(extra)
        else:
            path = ".".join(map(str, error.path))
            title = _field_title(schema, str(error.path[0])) if error.path else ""
        errors.append(FieldError(path, f"{title}：{_message(error)}" if title else _message(error)))
    if errors:
        raise FormInvalid(errors)
    return data
