"""Form references of user tasks and start events, and the form files they name (read once per lint run)."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from engine.bpmn.lint.model import CAMUNDA_NS, Node

# The same rule as engine/services/forms.py (deploy): a plain file name inside forms/, no traversal.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*\.schema\.json$")


@dataclass(frozen=True)
class FormRef:
    name: str  # the file name in forms/, or the raw key for other schemes
    line: int
    file_based: bool  # False: another form-key scheme (embedded:, camunda-forms:, a path): a generic form


def form_ref(node: Node) -> FormRef | None:
    """`formJsonSchemaFilename` property, else `camunda:formKey` (`x` means forms/x.schema.json)."""
    prop = node.properties.get("formJsonSchemaFilename")
    if prop is not None and prop.value.strip():
        return FormRef(prop.value.strip(), prop.line, True)
    key = (node.element.get(f"{{{CAMUNDA_NS}}}formKey") or "").strip()
    if not key:
        return None
    if "/" in key or ":" in key:
        return FormRef(key, node.line, False)
    return FormRef(f"{key}.schema.json", node.line, True)


@dataclass(frozen=True)
class LoadedForm:
    schema: dict[str, Any] | None
    missing: bool = False
    problem_en: str | None = None
    problem_zh: str | None = None

    @property
    def fields(self) -> set[str]:
        properties = (self.schema or {}).get("properties")
        return set(properties) if isinstance(properties, dict) else set()


class FormCatalog:
    """Reads and checks each referenced form file once."""

    def __init__(self, forms_dir: Path | None) -> None:
        self.forms_dir = forms_dir
        self._cache: dict[str, LoadedForm] = {}

    def load(self, name: str) -> LoadedForm | None:
        """None when no forms directory is known (the form rules are skipped)."""
        if self.forms_dir is None:
            return None
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def _read(self, name: str) -> LoadedForm:
        if not _SAFE_NAME.match(name) or ".." in name:
            return LoadedForm(None, problem_en=f"form name {name!r} must be a plain '<key>.schema.json' file name "
                              "inside forms/", problem_zh=f"表单名 {name!r} 必须是 forms/ 下的 '<key>.schema.json' 文件名")
        assert self.forms_dir is not None
        path = self.forms_dir / name
        if not path.is_file():
            return LoadedForm(None, missing=True)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            return LoadedForm(None, problem_en=f"forms/{name} is not UTF-8: {exc}",
                              problem_zh=f"forms/{name} 不是 UTF-8 编码：{exc}")
        return _checked(name, text)


@functools.lru_cache(maxsize=256)
def _checked(name: str, text: str) -> LoadedForm:
    """Parse and meta-validate one form's text. Keyed by content, so an edited file is checked again: the
    meta-schema check costs milliseconds per form, and deploy lints every file it deploys. (Read-only result.)"""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return LoadedForm(None, problem_en=f"forms/{name} is not valid JSON: {exc}",
                          problem_zh=f"forms/{name} 不是有效的 JSON：{exc}")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "the top level"
        return LoadedForm(None, problem_en=f"forms/{name} is not a valid JSON Schema 2020-12 at {where}: "
                          f"{exc.message}",
                          problem_zh=f"forms/{name} 在 {where} 处不是有效的 JSON Schema 2020-12：{exc.message}")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return LoadedForm(None, problem_en=f"forms/{name} must describe an object (\"type\": \"object\")",
                          problem_zh=f"forms/{name} 必须描述一个对象（\"type\": \"object\"）")
    return LoadedForm(schema)
