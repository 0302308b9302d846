"""Every scenario file in processes/tests/ runs against the real engine and passes; every sequence flow of the
shipped processes is covered by some scenario (issue 11). The designers' own command is checked once too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.config import load_settings
from engine.scenarios.coverage import coverage_of
from engine.scenarios.runner import ScenarioResult, Workbench, run_scenario
from engine.scenarios.spec import read_defaults, read_scenario, scenario_files
from tests.conftest import ROOT

SCENARIOS = ROOT / "processes" / "tests"
FILES = scenario_files([SCENARIOS])
PROCESSES = ("sample_review", "commercial_project", "government_investment_project")


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workbench]:
    with Workbench(load_settings(ROOT / "config.toml", environ={}),
                   workdir=tmp_path_factory.mktemp("scenarios")) as workbench:
        yield workbench


@pytest.fixture(scope="module")
def results() -> dict[Path, ScenarioResult]:
    """Results by file, shared by the scenario tests and the coverage tests of this module."""
    return {}


def _result(path: Path, bench: Workbench, results: dict[Path, ScenarioResult]) -> ScenarioResult:
    if path not in results:
        results[path] = run_scenario(read_scenario(path, defaults=read_defaults(path.parent)), bench)
    return results[path]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario(path: Path, bench: Workbench, results: dict[Path, ScenarioResult]) -> None:
    result = _result(path, bench, results)
    assert result.error is None, result.error
    assert result.failures == []


@pytest.mark.parametrize("key", PROCESSES)
def test_every_flow_is_covered(key: str, bench: Workbench, results: dict[Path, ScenarioResult]) -> None:
    mine = [p for p in FILES if read_scenario(p, defaults=read_defaults(p.parent)).process == key]
    assert mine, f"no scenario files for {key}"
    [entry] = coverage_of([_result(p, bench, results) for p in mine], bench)
    assert entry.missing_flows == [], entry.text()


def test_the_command_runs_scenarios_and_writes_coverage_diagrams(tmp_path: Path) -> None:
    svg_dir = tmp_path / "coverage"
    result = CliRunner().invoke(main, ["test-processes", str(SCENARIOS / "sample_review_all_approve.toml"),
                                       str(SCENARIOS / "sample_review_fire_rejects.toml"), "--svg", str(svg_dir),
                                       "--min-flow-coverage", "90"], catch_exceptions=False)
    assert result.exit_code == 0, result.output  # 91.7% of the flows: above the 90% asked for
    assert "PASS sample_review_all_approve" in result.output
    assert "sample_review: flows 11/12 (91.7%), elements 10/12 (83.3%), 2 scenario(s)" in result.output
    assert "flow not taken: flow_blacklisted (permit_refused -> end_blacklisted)" in result.output
    assert "2 passed, 0 failed" in result.output
    assert b"<svg" in (svg_dir / "sample_review.coverage.svg").read_bytes()[:200]
    strict = CliRunner().invoke(main, ["test-processes", str(SCENARIOS / "sample_review_all_approve.toml"),
                                       "--min-flow-coverage", "95", "--no-coverage"], catch_exceptions=False)
    assert strict.exit_code == 1 and "flow coverage below 95%: sample_review" in strict.output
