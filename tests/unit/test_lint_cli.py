"""`approvals lint`: output format, exit codes, --strict, default paths, locale and the worker registry."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.bpmn.lint import Finding, Severity, locale_from_env
from engine.cli import main
from engine.cli_lint import known_topics
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "lint"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A config whose processes/ holds the clean corpus process and whose forms are the corpus forms."""
    processes = tmp_path / "processes"
    processes.mkdir()
    (processes / "departments.toml").write_text(
        "[departments.window]\nname = \"窗口\"\n[departments.nrp]\nname = \"自然资源\"\n[departments.hc]\nname = \"住建\"\n",
        encoding="utf-8")
    shutil.copy(CORPUS / "clean" / "review_flow.bpmn", processes / "review_flow.bpmn")
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nprocesses = "processes"\nforms = "{CORPUS / "forms"}"\n', encoding="utf-8")
    return config


def _lint(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--config", str(config), "lint", *args],
                                env={"APPROVALS_LOCALE": "en", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_default_paths_are_the_configured_processes_and_warnings_exit_0(project: Path) -> None:
    code, out, err = _lint(project)
    assert code == 0
    # the clean process is clean but for its remote-only topic, which workers.ROUTERS does not serve
    assert [line.split(": ")[1:3] for line in out.splitlines()] == [["unknown-topic", "warning"]] * 2
    assert "applicant.notify" in out and "1 file(s), 0 error(s), 2 warning(s)" in err


def test_errors_exit_1_with_one_line_per_finding(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = "tests/data/lint/dead-end.bpmn"
    code, out, _ = _lint(project, path)
    assert code == 1
    line = next(i for i, text in enumerate((ROOT / path).read_text().splitlines(), 1) if "expect: dead-end" in text)
    assert out.splitlines() == [f"{path}:{line}: dead-end: error: special (特殊程序) has no outgoing sequence flow: "
                                "its token stops here without reaching an end event"]


def test_warnings_exit_0_unless_strict(project: Path) -> None:
    path = str(CORPUS / "generated-id.bpmn")
    code, out, _ = _lint(project, path)
    assert code == 0 and out.count(": generated-id: warning: ") == 2
    code, out, err = _lint(project, "--strict", path)
    assert code == 1 and out.count(": generated-id: error: ") == 2 and "(--strict)" in err


def test_a_directory_lints_every_bpmn_file_in_it(project: Path) -> None:
    code, out, err = _lint(project, str(CORPUS))
    assert code == 1
    assert f"{len(list(CORPUS.glob('*.bpmn')))} file(s)" in err
    assert {line.split(": ")[1] for line in out.splitlines()} >= {"xml-malformed", "parallel-join-deadlock"}


def test_chinese_messages_by_locale(project: Path) -> None:
    code, out, err = _lint(project, str(CORPUS / "user-task-no-department.bpmn"), env={"APPROVALS_LOCALE": "zh"})
    assert code == 1 and ": user-task-no-department: 错误：" in out and "没有办理部门" in out
    assert "1 个错误" in err


def test_a_missing_path_is_a_usage_error(project: Path, tmp_path: Path) -> None:
    code, _, _ = _lint(project, str(tmp_path / "nope.bpmn"))
    assert code == 2


@pytest.mark.parametrize("environ, locale", [
    ({}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"),
    ({"APPROVALS_LOCALE": "zh", "LANG": "C"}, "zh"), ({"APPROVALS_LOCALE": "en", "LANG": "zh_CN.UTF-8"}, "en"),
])
def test_locale_comes_from_approvals_locale_then_lang(environ: dict[str, str], locale: str) -> None:
    assert locale_from_env(environ) == locale


def test_strict_formats_a_warning_as_an_error() -> None:
    finding = Finding("x.bpmn", 3, "generated-id", Severity.WARNING, "id 'Flow_1' …", "id 'Flow_1' …", "Flow_1")
    assert finding.format() == "x.bpmn:3: generated-id: warning: id 'Flow_1' …"
    assert finding.format(strict=True) == "x.bpmn:3: generated-id: error: id 'Flow_1' …"
    assert finding.format("zh") == "x.bpmn:3: generated-id: 警告：id 'Flow_1' …"


def test_known_topics_come_from_the_worker_routers() -> None:
    import workers

    topics = known_topics()
    assert topics is not None and "permit.issue" in topics
    assert topics == frozenset(t for router in workers.ROUTERS for t in router.topics)


def test_deploy_refused_by_lint_prints_every_finding_and_deploys_nothing(project: Path, tmp_path: Path) -> None:
    config = project.read_text(encoding="utf-8") + (
        f'var = "{tmp_path / "var"}"\n[database]\nurl = "sqlite:///{tmp_path / "engine.db"}"\n'
        '[audit]\nhmac_key = "test-key-0123456789abcdef0123456789"\n')
    project.write_text(config, encoding="utf-8")
    broken = tmp_path / "two_errors.bpmn"
    broken.write_bytes((CORPUS / "unknown-department.bpmn").read_bytes().replace(
        b'camunda:formKey="opinion"', b'camunda:formKey="site_visit"'))
    result = CliRunner().invoke(main, ["--config", str(project), "deploy", str(broken)],
                                env={"APPROVALS_LOCALE": "en"})
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: two_errors.bpmn:") and "(and 1 more error(s))" in lines[0]
    assert sorted(line.split(": ")[1] for line in lines[1:]) == ["form-missing", "unknown-department"]


def test_an_unreadable_worker_registry_is_said_not_silently_skipped(project: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.cli_lint

    monkeypatch.setattr(engine.cli_lint, "known_topics", lambda: None)
    code, out, err = _lint(project)
    assert code == 0 and "unknown-topic" not in out
    assert "workers.ROUTERS could not be read" in err
