"""The simulation loop's shortcuts (issue 14) change nothing a run produces.

- `GatedLocalBackend` answers a fetch that cannot find a job without a claim transaction;
- `_plan_new_tasks` reads the open tasks of the instances commands touched, not every open task;
- the workflow cache holds one entry per project;
- the loop reads timers and tasks on a sqlite3 connection of its own (engine/simulation/reads.py);
- the figures take a completed instance's variables from its completion event, not from its loaded state.

A reference simulation without any of them (the plain `LocalBackend`, the whole-table read of open tasks, the
default cache size, the reads through SQLAlchemy) must give the same figures, counters and task answers for the
same seed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.bpmn import runtime
from engine.config import load_settings
from engine.models import (
    HumanTask,
    HumanTaskStatus,
    InstanceStatus,
    ProcessInstance,
    ServiceJob,
    ServiceJobStatus,
    Timer,
    TimerStatus,
)
from engine.services import execution
from engine.services.history import jsonable
from engine.services.workflow_cache import DEFAULT_SIZE
from engine.simulation import figures as figures_module
from engine.simulation.figures import collect
from engine.simulation.jobs_gate import GatedLocalBackend
from engine.simulation.runner import Simulation, SimulationConfig, stuck_instances
from engine.worker.backends import LocalBackend, TopicLock
from tests.conftest import ROOT


def _settings(tmp_path: Path) -> Any:
    config = tmp_path / "config.toml"
    config.write_text(f'[paths]\nprocesses = "{ROOT / "processes"}"\nforms = "{ROOT / "forms"}"\n'
                      f'var = "{tmp_path / "var"}"\n[audit]\nhmac_key = "test-audit-key-0123456789abcdef"\n',
                      encoding="utf-8")
    return load_settings(config)


class ReferenceSimulation(Simulation):
    """The loop as it was before the shortcuts: every fetch claims, every planning reads all open tasks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.state.ctx.workflows.maxsize = DEFAULT_SIZE
        self.workers.backend = LocalBackend(self.state)
        self.backend.take_instances = set  # type: ignore[method-assign]  # nothing is tracked

    def _plan_new_tasks(self) -> None:
        with self.state.sessions() as s:
            rows = s.scalars(select(HumanTask).where(HumanTask.status == HumanTaskStatus.OPEN,
                                                     HumanTask.created_at >= self._seen_since)).all()
        self._plan(list(rows))

    def _next_timer(self) -> datetime | None:
        with self.state.sessions() as s:
            return s.scalar(select(func.min(Timer.due_at)).where(Timer.status == TimerStatus.WAITING,
                                                                 Timer.due_at.is_not(None)))

    def _instances_of_timers(self, timer_ids: list[str]) -> set[str]:
        with self.state.sessions() as s:
            return set(s.scalars(select(Timer.instance_id).where(Timer.id.in_(timer_ids))))


def _state_variables(session: Any, ctx: Any, instance: ProcessInstance) -> dict[str, Any]:
    """The figures' variables as they were read before: from the instance's loaded workflow."""
    workflow = execution.load(session, ctx, instance).workflow
    if instance.status == "running":
        return runtime.open_task_data(workflow)
    return runtime.workflow_data(workflow)


def _run(kind: type[Simulation], tmp_path: Path, projects: int, seed: int) -> dict[str, Any]:
    simulation = kind(_settings(tmp_path), SimulationConfig(projects=projects, seed=seed,
                                                            directory=tmp_path / kind.__name__))
    answered: list[tuple[str, str, str]] = []
    answer = simulation._answer

    def record(task_id: str, data: dict[str, Any]) -> None:
        with simulation.state.sessions() as s:
            task = s.get(HumanTask, task_id)
            assert task is not None
            number = simulation.by_instance[task.instance_id].number
            answered.append((simulation.clock.now().isoformat(), str(number), task.bpmn_id))
        answer(task_id, data)

    simulation._answer = record  # type: ignore[method-assign]
    simulation.run()
    shortcut = figures_module._variables
    if kind is ReferenceSimulation:
        figures_module._variables = _state_variables  # type: ignore[assignment]
    try:
        with simulation.state.sessions() as s:
            figures = collect(s, simulation.state.ctx, simulation.projects, kind="mixed", seed=seed,
                              now=simulation.clock.now()).to_json()
    finally:
        figures_module._variables = shortcut  # type: ignore[assignment]
    figures.pop("seconds", None)
    for project in figures["escalated"]:
        project.pop("instance_id")  # escalations raised at one moment are listed in a fixed order (not sorted here)
    counters = simulation.counters
    # Answers due at one moment go in instance-id order (random ids), in the reference run too: compare as sets.
    result = {"figures": figures, "answered": sorted(answered), "stuck": stuck_instances(simulation.state),
              "counters": (counters.commands, counters.jobs, counters.timers, counters.stale_answers)}
    simulation.state.db_engine.dispose()
    return result


def test_the_shortcuts_give_the_reference_run(tmp_path: Path) -> None:
    fast = _run(Simulation, tmp_path, 10, 11)
    reference = _run(ReferenceSimulation, tmp_path, 10, 11)
    assert fast == reference
    assert fast["counters"][1] > 0 and fast["stuck"] == 0 and fast["answered"]


def test_a_completed_instance_s_variables_come_from_its_completion_event(tmp_path: Path) -> None:
    simulation = Simulation(_settings(tmp_path), SimulationConfig(projects=10, seed=11, directory=tmp_path / "s"))
    try:
        simulation.run()
        with simulation.state.sessions() as s:
            completed = s.scalars(select(ProcessInstance).where(
                ProcessInstance.status == InstanceStatus.COMPLETED)).all()
            assert completed
            ctx = simulation.state.ctx
            loads = []
            plain_load = execution.load
            execution.load = lambda *args, **kwargs: loads.append(1) or plain_load(*args, **kwargs)  # type: ignore
            try:
                found = {i.id: figures_module._variables(s, ctx, i) for i in completed}
            finally:
                execution.load = plain_load  # type: ignore[assignment]
            assert loads == []  # no workflow was rebuilt
            assert found == {i.id: jsonable(_state_variables(s, ctx, i)) for i in completed}
            assert all(found[i.id].get("cap_wd") for i in completed)
    finally:
        simulation.state.db_engine.dispose()


def test_the_cache_holds_every_project(tmp_path: Path) -> None:
    simulation = Simulation(_settings(tmp_path), SimulationConfig(projects=300, directory=tmp_path / "s"))
    try:
        assert simulation.state.ctx.workflows.maxsize >= 300
    finally:
        simulation.state.db_engine.dispose()


def test_an_empty_fetch_is_answered_without_a_claim_until_something_changes(tmp_path: Path) -> None:
    simulation = Simulation(_settings(tmp_path), SimulationConfig(projects=1, directory=tmp_path / "s"))
    backend: GatedLocalBackend = simulation.backend
    topics = [TopicLock("*", timedelta(minutes=5))]
    claims: list[int] = []
    plain_fetch = LocalBackend.fetch

    def counting(self: LocalBackend, *args: Any, **kwargs: Any) -> Any:
        claims.append(1)
        return plain_fetch(self, *args, **kwargs)

    LocalBackend.fetch = counting  # type: ignore[method-assign]
    try:
        assert backend.fetch("w", topics, 1, 0.0) == [] and len(claims) == 1  # no job at all
        assert backend.fetch("w", topics, 1, 0.0) == [] and len(claims) == 1  # nothing changed: no claim
        simulation._arrive(simulation.projects[0])  # the application starts a service task: a job row
        jobs = backend.fetch("w", topics, 1, 0.0)
        assert len(jobs) == 1 and len(claims) == 2
        assert backend.take_instances() == {jobs[0].instance_id} and backend.take_instances() == set()
        # Locked by us: nothing else is claimable; later asks with the same signal, before the lock's expiry,
        # are answered without a claim, even after the clock moved.
        assert backend.fetch("w", topics, 1, 0.0) == [] and len(claims) == 3
        skipped = backend.skipped
        simulation.clock.set(simulation.clock.now() + timedelta(seconds=30))
        assert backend.fetch("w", topics, 1, 0.0) == [] and backend.skipped == skipped + 1 and len(claims) == 3
        # The lock expires when the clock passes it: the job is claimable again, without any new job.
        with simulation.state.sessions() as s:
            expires = s.get(ServiceJob, jobs[0].id).lock_expires_at
            assert s.get(ServiceJob, jobs[0].id).status == ServiceJobStatus.LOCKED
        simulation.clock.set(expires + timedelta(seconds=1))
        again = backend.fetch("w", topics, 1, 0.0)
        assert [j.id for j in again] == [jobs[0].id] and len(claims) == 4
    finally:
        LocalBackend.fetch = plain_fetch  # type: ignore[method-assign]
        simulation.state.db_engine.dispose()


def test_the_simulation_database_does_not_sync(tmp_path: Path) -> None:
    # A throwaway file: syncing it (NORMAL syncs at every WAL checkpoint) cost ~6% of a run for nothing, and one
    # process uses it alone: its rollback journal is kept in memory (no WAL to write every page to twice).
    simulation = Simulation(_settings(tmp_path), SimulationConfig(projects=1, directory=tmp_path / "s"))
    try:
        with simulation.state.db_engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 0  # OFF
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
    finally:
        simulation.state.db_engine.dispose()
