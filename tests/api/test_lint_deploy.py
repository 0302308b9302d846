"""Deploy runs lint: errors refuse it with every finding (problem+json), warnings do not (DESIGN.md §4)."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.config import Settings, load_settings
from engine.errors import InvalidBpmn
from engine.services import deployments
from engine.services.commands import run_command
from tests.conftest import HMAC_KEY, ROOT, Auth, engine_state

CORPUS = ROOT / "tests" / "data" / "lint"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The lint corpus's forms; the shipped processes/departments.toml."""
    return load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": f"sqlite:///{tmp_path}/engine.sqlite3", "sqlite_synchronous": "NORMAL"},
        "paths": {"processes": str(ROOT / "processes"), "forms": str(CORPUS / "forms"), "var": str(tmp_path / "var")},
        "audit": {"hmac_key": HMAC_KEY},
        "scheduler": {"enabled": False},
        "workers": {"enabled": False},
    })


def _deploy(app: Flask, path: Path) -> object:
    state = engine_state(app)
    return run_command(state.sessions, lambda s: deployments.deploy_path(
        s, state.ctx, path, actor="designer", now=state.clock.now()))


def _definitions(app: Flask) -> list[object]:
    state = engine_state(app)
    with state.sessions() as session:
        return deployments.list_definitions(session)


def test_a_lint_error_refuses_the_deploy_naming_the_first_finding_and_listing_all(app: Flask) -> None:
    path = CORPUS / "parallel-join-deadlock.bpmn"
    with pytest.raises(InvalidBpmn) as refused:
        _deploy(app, path)
    exc = refused.value
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "expect: parallel-join-deadlock" in text)
    assert (exc.file, exc.line, exc.element_id) == (path.name, line, "join")
    assert exc.detail.startswith(f"{path.name}:{line}: parallel-join-deadlock: ")
    findings = exc.to_problem()["findings"]
    assert [(f["rule_id"], f["line"], f["severity"]) for f in findings] == [("parallel-join-deadlock", line, "error")]
    assert findings[0]["message_zh"] and findings[0]["message_en"]
    assert _definitions(app) == []


def test_warnings_do_not_block_a_deploy(app: Flask) -> None:
    out = _deploy(app, CORPUS / "generated-id.bpmn")
    assert out.key == "corpus_generated_id" and out.version == 1  # type: ignore[attr-defined]


def test_a_clean_process_deploys_and_reuses_the_lint_parse(app: Flask) -> None:
    out = _deploy(app, CORPUS / "clean" / "review_flow.bpmn")
    assert out.key == "lint_clean_review"  # type: ignore[attr-defined]
    assert sorted(out.forms) == ["application.schema.json", "opinion.schema.json"]  # type: ignore[attr-defined]


def test_an_unsupported_form_key_gets_a_generic_form_instead_of_failing(app: Flask) -> None:
    out = _deploy(app, CORPUS / "form-key-unsupported.bpmn")
    assert out.forms == []  # type: ignore[attr-defined]


def test_the_api_answers_a_lint_refusal_with_problem_json_and_every_finding(client: FlaskClient, auth: Auth,
                                                                          app: Flask) -> None:
    data = (CORPUS / "unknown-department.bpmn").read_bytes().replace(
        b'camunda:formKey="opinion"', b'camunda:formKey="site_visit"')  # two errors now
    response = client.post("/api/process-definitions", data={"file": (BytesIO(data), "two_errors.bpmn")},
                           content_type="multipart/form-data", headers=auth.headers("designer", "designer"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["type"] == "/problems/invalid-bpmn"
    assert problem["file"] == "two_errors.bpmn" and problem["element_id"] == "check"
    assert "(and 1 more error(s))" in problem["detail"]
    assert sorted(f["rule_id"] for f in problem["findings"]) == ["form-missing", "unknown-department"]
    assert _definitions(app) == []
