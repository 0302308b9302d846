"""`approvals simulate` through the real engine: a small run in `make test`, 500 projects in `make test-long`.

The figures are read back from the run's database: within cap unless a non-defaulting step (window, fire, civil
air defence) was late, escalations listed with their overrun, one profile submission per new applicant and at
most one per project, at most one trip per application, no instance left stuck."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.simulation.behaviour import Rates, draw_projects
from tests.conftest import ROOT


def _simulate(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nprocesses = "{ROOT / "processes"}"\nforms = "{ROOT / "forms"}"\n'
                      f'var = "{tmp_path / "var"}"\n[audit]\nhmac_key = "test-audit-key-0123456789abcdef"\n',
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "simulate", *args, "--json"])
    try:
        figures = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(result.output) from None
    return result.exit_code, figures, result.stderr


def _check(figures: dict, projects: int) -> None:
    assert figures["projects"] == projects and figures["stuck"] == 0
    assert figures["violations"] == [], figures["violations"]
    for project in figures["escalated"]:
        assert project["escalations"]
        assert project["overrun_wd"] == 0 or project["late_nondefaulting"], project
    submissions = figures["profile_submissions"]
    assert submissions["max_per_project"] <= 1
    assert submissions["new_applicants_with_one"] == submissions["applicants"] == submissions["total"]
    assert figures["trips"]["max"] <= 1
    assert figures["ok"] is True


def test_a_small_mixed_run_meets_every_figure(tmp_path: Path) -> None:
    code, figures, _ = _simulate(tmp_path, "--projects", "8", "--seed", "7", "--report", str(tmp_path / "report"))
    assert code == 0
    _check(figures, 8)
    assert figures["permits"] >= 1 and set(figures["working_days"]) <= {"commercial", "government"}
    for kind, days in figures["working_days"].items():
        assert days["max"] <= days["cap"] or figures["escalated"], kind
    assert sum(figures["outcomes"].values()) == 8
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "工程建设项目审批模拟报告" in page and 'src="working_days.svg"' in page
    svg = (tmp_path / "report" / "working_days.svg").read_text(encoding="utf-8")
    assert "立项至施工许可用时" in svg  # text kept as text, not paths
    assert json.loads((tmp_path / "report" / "summary.json").read_text(encoding="utf-8"))["projects"] == 8


def test_the_same_seed_draws_the_same_projects() -> None:
    first, pool = draw_projects(50, "mixed", 3, Rates(), 60)
    again, _ = draw_projects(50, "mixed", 3, Rates(), 60)
    other, _ = draw_projects(50, "mixed", 4, Rates(), 60)
    shape = [(p.kind, p.applicant, p.arrival_wd, p.missing, p.rongque, p.commitment) for p in first]
    assert shape == [(p.kind, p.applicant, p.arrival_wd, p.missing, p.rongque, p.commitment) for p in again]
    assert shape != [(p.kind, p.applicant, p.arrival_wd, p.missing, p.rongque, p.commitment) for p in other]
    assert 0 < pool < 50  # some applicants come back with a second project
    assert {p.kind for p in first} == {"commercial", "government"}
    assert all(p.kind == "government" for p in draw_projects(5, "government", 1, Rates(), 10)[0])


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--projects", "0"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["simulate", "--projects", "3", "--kind", "private"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_five_hundred_projects_seed_one(tmp_path: Path) -> None:
    started = time.monotonic()
    code, figures, _ = _simulate(tmp_path, "--projects", "500", "--seed", "1", "--report", str(tmp_path / "r"))
    assert code == 0
    _check(figures, 500)
    print(f"\n500 projects in {time.monotonic() - started:.0f} s: within cap {figures['within_cap']}/"
          f"{figures['permits']}, working days {figures['working_days']}, escalated {len(figures['escalated'])}")
