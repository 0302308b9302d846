"""Bad input gets a clear error and changes nothing (DESIGN.md §3.6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from engine.config import load_settings
from engine.errors import ConfigError
from tests.conftest import ROOT, Auth

SAMPLE = (ROOT / "processes" / "sample_review.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def client(client: FlaskClient, auth: Auth) -> FlaskClient:
    """Every request in this module comes from a designer (deploys, reads definitions)."""
    client.environ_base["HTTP_AUTHORIZATION"] = auth.headers("designer", "designer")["Authorization"]
    return client


def _upload(client: FlaskClient, text: str | bytes, name: str = "bad.bpmn"):
    from io import BytesIO

    data = text.encode() if isinstance(text, str) else text
    return client.post("/api/process-definitions", data={"file": (BytesIO(data), name)},
                       content_type="multipart/form-data")


def _nothing_deployed(client: FlaskClient) -> None:
    assert client.get("/api/process-definitions").get_json()["items"] == []


def test_malformed_xml_names_file_and_line(client: FlaskClient) -> None:
    broken = SAMPLE.replace('<bpmn:endEvent id="end_rejected" name="不予许可">', '<bpmn:endEvent id="end_rejected"', 1)
    response = _upload(client, broken, "broken.bpmn")
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["file"] == "broken.bpmn"
    assert isinstance(problem["line"], int) and problem["line"] > 1
    assert "broken.bpmn:" in problem["detail"]
    _nothing_deployed(client)


def test_dangling_flow_names_file_line_and_element(client: FlaskClient) -> None:
    dangling = SAMPLE.replace('targetRef="end_rejected" />', 'targetRef="end_nowhere" />')
    response = _upload(client, dangling, "dangling.bpmn")
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["element_id"] == "flow_rejected"
    expected_line = next(i for i, line in enumerate(dangling.splitlines(), 1) if 'id="flow_rejected"' in line)
    assert problem["line"] == expected_line
    assert problem["file"] == "dangling.bpmn"
    _nothing_deployed(client)


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE bpmn:definitions SYSTEM "http://127.0.0.1:9/evil.dtd">',
])
def test_dtds_and_entities_are_refused_without_resolving(client: FlaskClient, prolog: str) -> None:
    hostile = SAMPLE.replace('<?xml version="1.0" encoding="UTF-8"?>',
                             '<?xml version="1.0" encoding="UTF-8"?>\n' + prolog, 1)
    hostile = hostile.replace('name="受理"', 'name="&xxe;"' if "xxe" in prolog else 'name="&b;"' if "lol" in prolog
                              else 'name="受理"')
    response = _upload(client, hostile, "hostile.bpmn")
    assert response.status_code == 422
    assert response.get_json()["type"] == "/problems/hostile-xml"
    assert "root:" not in response.get_data(as_text=True)
    _nothing_deployed(client)


def test_sandbox_escape_in_a_gateway_condition_is_refused_and_runs_nothing(client: FlaskClient,
                                                                            tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = re.sub(r"<bpmn:conditionExpression>.*?</bpmn:conditionExpression>",
                  f"<bpmn:conditionExpression>__import__('os').system('touch {marker}') == 0"
                  "</bpmn:conditionExpression>", SAMPLE, flags=re.S)
    response = _upload(client, evil, "evil.bpmn")
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["element_id"] == "flow_approved"
    assert "not allowed" in problem["detail"]
    assert not marker.exists()
    _nothing_deployed(client)


def test_invalid_utf8_is_refused(client: FlaskClient) -> None:
    response = _upload(client, SAMPLE.encode("utf-8").replace("受理".encode(), b"\xff\xfe"), "latin.bpmn")
    assert response.status_code == 422
    _nothing_deployed(client)


def test_unknown_config_key_is_an_error_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurll = "sqlite:///x.db"\n')
    with pytest.raises(ConfigError, match=r"\[database\] urll"):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match=r"\[databse\]"):
        load_settings(tmp_path / "missing.toml" if False else None, environ={"APPROVALS_DATABSE__URL": "x"})
    with pytest.raises(ConfigError, match="port"):
        load_settings(None, environ={"APPROVALS_SERVER__PORT": "eighty"})


def test_sqlite_synchronous_is_one_of_sqlites_levels(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[database]\nsqlite_synchronous = "FULL; DROP TABLE process_instances"\n')
    with pytest.raises(ConfigError, match=r"\[database\] sqlite_synchronous must be one of EXTRA, FULL, NORMAL, OFF"):
        load_settings(config, environ={})
    with pytest.raises(ConfigError, match="sqlite_synchronous"):
        load_settings(None, environ={"APPROVALS_DATABASE__SQLITE_SYNCHRONOUS": "fast",
                                     "APPROVALS_CONFIG": str(tmp_path / "none.toml")})
    settings = load_settings(None, environ={"APPROVALS_DATABASE__SQLITE_SYNCHRONOUS": "normal",
                                            "APPROVALS_CONFIG": str(tmp_path / "none.toml")})
    assert settings.database.sqlite_synchronous == "normal"  # SQLite takes either case


def test_sqlite_journal_mode_is_wal_or_memory(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    for bad in ("OFF", "WAL; DROP TABLE process_instances", "delete"):  # OFF would make a rollback undo nothing
        config.write_text(f'[database]\nsqlite_journal_mode = "{bad}"\n')
        with pytest.raises(ConfigError, match=r"\[database\] sqlite_journal_mode must be one of MEMORY, WAL"):
            load_settings(config, environ={})
    assert load_settings(None, environ={"APPROVALS_CONFIG": str(tmp_path / "none.toml")}).database \
        .sqlite_journal_mode == "WAL"


def test_env_overrides_are_coerced(tmp_path: Path) -> None:
    settings = load_settings(None, environ={"APPROVALS_SERVER__PORT": "5050", "APPROVALS_SCHEDULER__ENABLED": "false",
                                            "APPROVALS_CONFIG": str(tmp_path / "none.toml")})
    assert settings.server.port == 5050 and settings.scheduler.enabled is False
