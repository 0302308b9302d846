"""Forms of the approval processes: every user task's form exists and is a valid JSON Schema with Chinese titles
and labelled enums; `x-prefill` fields come from the applicant profile and earlier steps, on the service and on
the clerk's task page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from engine.bpmn.parsing import load_process
from engine.clock import SimulatedClock
from engine.models import HumanTask
from engine.services import form_prefill
from tests.conftest import ROOT, Auth, engine_state
from tests.processes.approval_support import KEYS, Approval
from tests.web.support import login

CJK = "\u4e00"


@pytest.mark.parametrize("key", KEYS)
def test_every_user_task_has_a_chinese_form(key: str) -> None:
    parsed = load_process((ROOT / "processes" / f"{key}.bpmn").read_bytes(), file=key)
    users = [e for e in parsed.elements.values() if e.type == "UserTask"]
    assert len(users) >= 25
    for element in users:
        assert element.form and element.candidate_groups, element.bpmn_id
        schema = json.loads((ROOT / "forms" / element.form).read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert any(ch >= CJK for ch in schema["title"]), element.form
        for name, prop in schema["properties"].items():
            assert any(ch >= CJK for ch in prop["title"]), (element.form, name)
            if "enum" in prop:
                assert set(prop["x-labels"]) == set(prop["enum"]), (element.form, name)


def test_prefill_resolves_dotted_paths() -> None:
    schema = {"properties": {"a": {"x-prefill": "applicant.name"}, "b": {"x-prefill": "x.items.1"},
                             "c": {"x-prefill": "nowhere.at.all"}, "d": {"type": "string"}}}
    data = {"applicant": {"name": "示范公司"}, "x": {"items": ["p", "q"]}}
    assert form_prefill.values(schema, data) == {"a": "示范公司", "b": "q"}


def test_the_intake_form_is_prefilled_from_the_profile_and_the_materials_check(
        app: Flask, clock: SimulatedClock, deploy: Callable[..., Any], auth: Auth) -> None:
    world = Approval(app, clock, deploy)
    world.apply("commercial_project", missing=("ZRZY-02-M3",))
    task = world.tasks()["completeness_decision"]
    state = engine_state(app)
    with state.sessions() as session:
        row = session.get(HumanTask, task.id)
        from engine.services.human_tasks import form_schema

        schema = form_schema(session, row)
        values = form_prefill.for_task(session, state.ctx, row, schema)
    assert values == {"project_name": "呼和浩特示范综合体项目", "applicant_name": "呼和浩特示范置业有限公司",
                      "missing_secondary": ["ZRZY-02-M3"]}
    auth.user("zhao.window", "clerk", departments=["window"])
    client = app.test_client()
    assert login(client, "zhao.window") in (200, 302)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "呼和浩特示范置业有限公司" in page  # the applicant's name, typed once in the profile
