"""Reading a form file: a text checked once against the metaschema is not checked again; an edit is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import InvalidBpmn
from engine.services import forms

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "title": "名称"}}, "required": ["name"]}


def test_an_edited_form_file_is_checked_again(tmp_path: Path) -> None:
    path = tmp_path / "a.schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    first = forms.read_form(tmp_path, "a.schema.json", bpmn_file="t")
    first["properties"]["name"]["title"] = "changed by a caller"
    assert forms.read_form(tmp_path, "a.schema.json", bpmn_file="t") == SCHEMA  # each call a fresh dict
    path.write_text(json.dumps({**SCHEMA, "type": 7}), encoding="utf-8")
    for _ in range(2):  # a failed check is not remembered as a pass
        with pytest.raises(InvalidBpmn, match="not a valid JSON Schema"):
            forms.read_form(tmp_path, "a.schema.json", bpmn_file="t")
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    assert forms.read_form(tmp_path, "a.schema.json", bpmn_file="t") == SCHEMA
