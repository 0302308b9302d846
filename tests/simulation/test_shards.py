"""A simulation split across processes (engine/simulation/shards.py) is the same run as in one process.

- Split by applicant, each share run on its own database and the figures combined: the same figures, counters and
  every answer at the same moment, to the same task of the same project, as one run over all projects.
- `simulate --processes 2` (spawned processes) prints the figures of `--processes 1`.
- A process that fails fails the run with its traceback; `--keep-db` keeps one database per process.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.config import Settings, load_settings
from engine.models import HumanTask
from engine.simulation import shards
from engine.simulation.behaviour import Rates, draw_projects
from engine.simulation.figures import Gathered, combine, gather
from engine.simulation.runner import Simulation, SimulationConfig
from tests.conftest import ROOT

PROJECTS, SEED = 16, 11


def _config_file(tmp_path: Path, processes: Path = ROOT / "processes") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nprocesses = "{processes}"\nforms = "{ROOT / "forms"}"\n'
                      f'var = "{tmp_path / "var"}"\n[audit]\nhmac_key = "test-audit-key-0123456789abcdef"\n',
                      encoding="utf-8")
    return config


def _run_shards(settings: Settings, tmp_path: Path, count: int) -> dict[str, Any]:
    """Run the shares one after another in this process (so that every answer can be recorded), as shards.run's
    processes do: each on its own database, gathered at the latest moment any of them stopped."""
    simulations, answered = [], []
    for shard in range(count):
        config = SimulationConfig(projects=PROJECTS, seed=SEED, shard=shard, shards=count,
                                  directory=tmp_path / f"{count}-{shard}")
        simulation = Simulation(settings, config)
        answer = simulation._answer

        def record(task_id: str, data: dict[str, Any], simulation: Simulation = simulation,
                   answer: Any = answer) -> None:
            with simulation.state.sessions() as s:
                task = s.get(HumanTask, task_id)
                assert task is not None
                project = simulation.by_instance[task.instance_id].number
                answered.append((simulation.clock.now().isoformat(), project, task.bpmn_id))
            answer(task_id, data)

        simulation._answer = record  # type: ignore[method-assign]
        simulation.run()
        simulations.append(simulation)
    end = max(simulation.clock.now() for simulation in simulations)
    parts: list[Gathered] = []
    for simulation in simulations:
        with simulation.state.sessions() as s:
            parts.append(gather(s, simulation.state.ctx, simulation.projects, now=end))
        simulation.state.db_engine.dispose()
    projects, _ = draw_projects(PROJECTS, "mixed", SEED, Rates(), 60)
    figures = combine(parts, projects, kind="mixed", seed=SEED).to_json()
    for project in figures["escalated"]:
        project.pop("instance_id")
    counters = [(s.counters.commands, s.counters.jobs, s.counters.timers, s.counters.stale_answers)
                for s in simulations]
    return {"figures": figures, "answered": sorted(answered), "counters": tuple(map(sum, zip(*counters))),
            "shares": [len(s.projects) for s in simulations]}


def test_shares_by_applicant_give_the_one_process_run(tmp_path: Path) -> None:
    projects, _ = draw_projects(PROJECTS, "mixed", SEED, Rates(), 60)
    applicants = Counter(p.applicant for p in projects)
    assert max(applicants.values()) >= 2  # a returning applicant: its projects must share a database
    settings = load_settings(_config_file(tmp_path))
    one = _run_shards(settings, tmp_path, 1)
    three = _run_shards(settings, tmp_path, 3)
    assert all(three["shares"]) and sum(three["shares"]) == PROJECTS
    assert three["figures"] == one["figures"]
    assert three["answered"] == one["answered"] and len(one["answered"]) > PROJECTS
    assert three["counters"] == one["counters"] and one["counters"][1] > 0
    assert one["figures"]["projects"] == PROJECTS and one["figures"]["ok"]


def _simulate(tmp_path: Path, *args: str, config: Path | None = None) -> Any:
    return CliRunner().invoke(main, ["--config", str(config or _config_file(tmp_path)), "simulate", *args])


def _figures(result: Any) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    figures.pop("seconds")
    figures["counters"].pop("processes")
    for project in [*figures["escalated"], *figures["violations"]]:
        project.pop("instance_id")
    return figures


def test_spawned_processes_print_the_one_process_figures(tmp_path: Path) -> None:
    one = _simulate(tmp_path, "--projects", "12", "--seed", "7", "--json", "--processes", "1")
    two = _simulate(tmp_path, "--projects", "12", "--seed", "7", "--json", "--processes", "2")
    assert json.loads(two.stdout)["counters"]["processes"] == 2
    assert _figures(two) == _figures(one)
    assert _figures(one)["projects"] == 12


def test_each_process_keeps_its_database(tmp_path: Path) -> None:
    result = _simulate(tmp_path, "--projects", "6", "--seed", "2", "--processes", "2", "--keep-db",
                       str(tmp_path / "kept"))
    assert result.exit_code == 0, result.output
    kept = sorted(p.relative_to(tmp_path / "kept").as_posix() for p in (tmp_path / "kept").glob("*/*.sqlite3"))
    assert kept == ["shard-1/simulation.sqlite3", "shard-2/simulation.sqlite3"]
    assert "shard-2/simulation.sqlite3" in result.stderr


def test_a_failing_process_fails_the_run_with_its_traceback(tmp_path: Path) -> None:
    config = _config_file(tmp_path, processes=tmp_path / "no-such-processes")
    result = _simulate(tmp_path, "--projects", "4", "--processes", "2", config=config)
    assert result.exit_code == 1
    assert "simulation process" in result.output and "failed" in result.output
    assert "Traceback" in result.output


@pytest.mark.parametrize(("projects", "cpus", "expected"), [(8, 2, 1), (99, 8, 1), (250, 2, 2), (1000, 8, 8),
                                                          (1000, 1, 1), (300, 8, 3)])
def test_the_default_is_one_process_per_cpu_with_enough_projects(monkeypatch: pytest.MonkeyPatch, projects: int,
                                                                 cpus: int, expected: int) -> None:
    monkeypatch.setattr(shards.os, "sched_getaffinity", lambda _pid: set(range(cpus)))
    assert shards.default_processes(projects) == expected


def test_a_process_that_dies_silently_is_reported() -> None:
    class Dead:
        exitcode = -9  # killed (out of memory, kill -9): it never said why

    class Running:
        exitcode = None

    class Empty:
        def get(self, timeout: float) -> Any:
            import queue
            raise queue.Empty

    assert shards._next_message(Empty(), [Running(), Dead()]) == ("failed", 1, "exited with code -9")
