"""Run one scenario file against the real engine: a fresh SQLite database in a private directory, the process
deployed from its file, a simulated clock, in-process workers (the handlers in workers/, or scripted results).

The clock moves from event to event the way a scheduler ticking every few seconds would see it: the next step,
the next autopilot answer, the next waiting timer's due time or the next job retry, whichever comes first (timers
before steps at the same instant). At each instant every claimable job runs and every due timer fires until
nothing moves. After the last step the clock runs on while something is still scheduled (timers, retries, the
autopilot) and the instance is running, or up to `until_day`; then the expectations are checked.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time as timing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from sqlalchemy import select

from engine.app_state import AppState, build_state
from engine.bpmn.structure import Structure, read_structure
from engine.calendar import SHANGHAI, WorkCalendar
from engine.clock import SimulatedClock
from engine.config import Settings, load_settings
from engine.db import Base
from engine.errors import EngineError
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
from engine.scenarios.outcome import Outcome, observe
from engine.scenarios.spec import Scenario, Step
from engine.services import deployments, human_tasks, instances, jobs, timers
from engine.services.commands import run_command
from engine.services.context import SpecCache
from engine.services.jobs import TopicRequest

log = logging.getLogger(__name__)
DATABASE_FILE = "scenario.sqlite3"
TEMPLATE_DEPLOYED_AT = datetime(2026, 1, 1, tzinfo=UTC)  # when the template's designer deployed
MAX_MOVES = 5000  # clock moves per scenario: a process that never settles is reported, not looped on forever
SCENARIO_WORKER = "scenario"
HMAC_KEY = "scenario-runner-key"


class RunError(Exception):
    """The scenario could not be played as written (a task that is not open, a job nobody holds...)."""


@dataclass
class ScenarioResult:
    scenario: Scenario
    failures: list[str] = field(default_factory=list)
    outcome: Outcome | None = None
    error: str | None = None  # the run stopped: why
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario.name, "file": str(self.scenario.path), "process": self.scenario.process,
                "title": self.scenario.title, "ok": self.ok, "error": self.error, "failures": self.failures,
                "seconds": round(self.seconds, 3),
                "outcome": self.outcome.to_json() if self.outcome else None}


class Workbench:
    """What a run of many scenarios shares: the settings they derive from, processes/*.bpmn by process key (the
    BPMN process id), and per process file a template database with that file deployed (schema, definition row,
    parsed spec), copied for each scenario so a process is linted and parsed once per run, not once per file."""

    def __init__(self, base: Settings, *, workdir: Path | None = None) -> None:
        self.base = base
        self.processes_dir = base.path(base.paths.processes)
        self._tmp = tempfile.TemporaryDirectory(prefix="scenarios-", dir=workdir)
        self.workdir = Path(self._tmp.name)
        self._by_key: dict[str, Path] | None = None
        self._structures: dict[Path, Structure] = {}
        self._templates: dict[Path, tuple[Path, SpecCache]] = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._tmp.cleanup()

    def path(self, key: str) -> Path:
        if self._by_key is None:
            self._by_key = {}
            for path in sorted(self.processes_dir.glob("*.bpmn")):
                process_id = self.structure(path).process_id
                if process_id:
                    self._by_key.setdefault(process_id, path)
        if key not in self._by_key:
            raise RunError(f"no process {key!r} in {self.processes_dir} (processes: {', '.join(sorted(self._by_key))})")
        return self._by_key[key]

    def structure(self, path: Path) -> Structure:
        if path not in self._structures:
            self._structures[path] = read_structure(path.read_bytes(), file=path.name)
        return self._structures[path]

    def template(self, bpmn: Path) -> tuple[Path, SpecCache]:
        """A database file with the schema and `bpmn` deployed, and the spec cache that holds its parse."""
        if bpmn not in self._templates:
            directory = self.workdir / f"template-{len(self._templates)}"
            directory.mkdir()
            state = build_state(scenario_settings(self.base, directory), clock=SimulatedClock(TEMPLATE_DEPLOYED_AT))
            try:
                Base.metadata.create_all(state.db_engine)
                run_command(state.sessions, lambda s: deployments.deploy_path(
                    s, state.ctx, bpmn, actor="designer", now=TEMPLATE_DEPLOYED_AT))
            finally:
                state.db_engine.dispose()
            self._templates[bpmn] = (directory / DATABASE_FILE, state.ctx.specs)
        return self._templates[bpmn]


def scenario_settings(base: Settings, workdir: Path) -> Settings:
    config = workdir / "config.toml"
    config.write_text("", encoding="utf-8")
    return load_settings(config, environ={}, overrides={
        "database": {"url": f"sqlite:///{workdir / DATABASE_FILE}", "sqlite_synchronous": "OFF"},
        "paths": {"processes": str(base.path(base.paths.processes)), "forms": str(base.path(base.paths.forms)),
                  "var": str(workdir / "var")},
        "audit": {"hmac_key": HMAC_KEY},
        "scheduler": {"enabled": False},
        "workers": {"enabled": False, "retries": base.workers.retries,
                    "retry_delay_seconds": base.workers.retry_delay_seconds},
    })


class ScenarioRun:
    def __init__(self, scenario: Scenario, state: AppState, clock: SimulatedClock) -> None:
        self.scenario, self.state, self.clock = scenario, state, clock
        self.instance_id = ""
        self.steps = list(scenario.steps)
        self.runners = self._runners()
        self.started_on = scenario.start_at.astimezone(SHANGHAI).date()

    # --- workers ---------------------------------------------------------------------------------------------

    def _runners(self) -> list[Any]:
        import workers
        from engine.bureau.deps import BureauDeps
        from engine.bureau.notices import MemorySender
        from engine.sdk import BpmnError, LocalBackend, TaskRouter, WorkerRunner

        spec = self.scenario.workers
        backend = LocalBackend(self.state)
        deps = BureauDeps(self.state.sessions, self.state.ctx, self.clock, sender=MemorySender())
        runners = []
        scripted = set(spec.results) | set(spec.errors)
        if spec.handlers:
            topics = sorted({h.topic for router in workers.ROUTERS for h in router} - scripted - spec.hold)
            if topics:
                runners.append(WorkerRunner(self.state.settings, workers.ROUTERS, backend=backend, deps=deps,
                                            worker_id="scenario-handlers", topics=topics))
        if scripted:
            router = TaskRouter()
            for topic, result in spec.results.items():
                router.task(topic)(lambda _r=result, **_: dict(_r))
            for topic, error in spec.errors.items():
                def throw(_e: dict[str, Any] = error, **_: Any) -> None:
                    raise BpmnError(_e["code"], _e["message"], _e["variables"])
                router.task(topic)(throw)
            runners.append(WorkerRunner(self.state.settings, [router], backend=backend, worker_id="scenario-script",
                                        topics=["*"]))
        return runners

    # --- the clock -------------------------------------------------------------------------------------------

    def calendar(self) -> WorkCalendar:
        with self.state.sessions() as session:
            return self.state.ctx.calendars.get(session)

    def day_at(self, day: int, at: Any) -> datetime:
        date = self.calendar().add_working_days(self.started_on, day).date if day else self.started_on
        return datetime.combine(date, at, tzinfo=SHANGHAI)

    def settle(self) -> None:
        """Run claimable jobs and fire due timers at the current instant until nothing moves."""
        now = self.clock.now()
        for _ in range(1000):
            ran = sum(runner.run_until_idle() for runner in self.runners)
            fired = timers.fire_due(self.state.sessions, self.state.ctx, now, 100)
            if not ran and not fired.fired:
                return
        raise RunError(f"jobs and timers keep coming at {now.isoformat()}")

    def next_engine_event(self) -> datetime | None:
        """The next waiting timer due or job retry after now, if the instance runs."""
        now = self.clock.now()
        with self.state.sessions() as session:
            instance = session.get(ProcessInstance, self.instance_id)
            if instance is None or instance.status != InstanceStatus.RUNNING:
                return None
            dues = [t for t in session.scalars(select(Timer.due_at).where(
                Timer.instance_id == self.instance_id, Timer.status == TimerStatus.WAITING, Timer.due_at > now))]
            retries = [t for t in session.scalars(select(ServiceJob.run_after).where(
                ServiceJob.instance_id == self.instance_id, ServiceJob.status == ServiceJobStatus.AVAILABLE,
                ServiceJob.run_after > now))]
        candidates = [d for d in dues + retries if d is not None]
        return min(candidates) if candidates else None

    def move_to(self, when: datetime) -> None:
        if when < self.clock.now():
            raise RunError(f"the clock cannot go back to {when.isoformat()} (it is {self.clock.now().isoformat()})")
        self.clock.set(when)
        self.settle()

    # --- the clerks nobody scripted -------------------------------------------------------------------------

    def open_tasks(self) -> list[HumanTask]:
        with self.state.sessions() as session:
            return list(session.scalars(select(HumanTask).where(
                HumanTask.instance_id == self.instance_id, HumanTask.status == HumanTaskStatus.OPEN)
                .order_by(HumanTask.created_at, HumanTask.id)))

    def autopilot_plans(self) -> dict[str, tuple[datetime, HumanTask]]:
        pilot = self.scenario.autopilot
        if pilot is None:
            return {}
        scripted = {s.target for s in self.steps if s.action == "complete"}
        now = self.clock.now()
        calendar = self.calendar()
        plans: dict[str, tuple[datetime, HumanTask]] = {}
        for task in self.open_tasks():
            if task.bpmn_id in pilot.silent or task.bpmn_id in scripted or task.id in plans:
                continue
            if task.bpmn_id in pilot.after:
                opened = task.created_at.astimezone(SHANGHAI).date()
                day = calendar.add_working_days(opened, pilot.after[task.bpmn_id]).date
                when = datetime(day.year, day.month, day.day, 10, tzinfo=SHANGHAI)
            elif pilot.answer == "at_due" and (task.properties or {}).get("limit_committed_wd"):
                if task.paused_on is not None or task.due_at is None:
                    continue  # the legal clock is paused: this review cannot be late now
                when = task.due_at - timedelta(seconds=1)
                if task.bpmn_id in pilot.late:
                    when = calendar.deadline(task.due_at, pilot.late[task.bpmn_id]).due_at - timedelta(hours=12)
            elif task.bpmn_id in pilot.late and task.due_at is not None:
                when = calendar.deadline(task.due_at, pilot.late[task.bpmn_id]).due_at - timedelta(hours=12)
            else:
                when = now
            plans[task.id] = (max(now, when), task)
        return plans

    # --- acting --------------------------------------------------------------------------------------------

    def form_data(self, task: HumanTask, data: dict[str, Any] | None) -> dict[str, Any]:
        if data is not None:
            return data
        pilot = self.scenario.autopilot
        if pilot is not None and task.bpmn_id in pilot.tasks:
            return dict(pilot.tasks[task.bpmn_id])
        form = (task.form_key or "").removesuffix(".schema.json")
        if pilot is not None and form in pilot.data:
            return dict(pilot.data[form])
        return dict(self.scenario.form_data.get(form, {}))

    def complete(self, task: HumanTask, data: dict[str, Any] | None, actor: str | None,
                 department: str | None) -> None:
        groups = list(task.candidate_groups or [])
        if department is not None and department not in groups:
            raise RunError(f"{task.bpmn_id} is for {', '.join(groups) or 'no department'}, not {department}")
        who = actor or f"clerk.{department or (groups[0] if groups else 'window')}"
        values = self.form_data(task, data)
        state = self.state
        run_command(state.sessions, lambda s: human_tasks.complete(s, state.ctx, task.id, values, actor=who,
                                                                   now=self.clock.now()))
        self.settle()

    def play(self, step: Step) -> None:
        state, now = self.state, self.clock.now()
        if step.action == "complete":
            found = [t for t in self.open_tasks() if t.bpmn_id == step.target]
            if not found:
                open_ids = ", ".join(sorted({t.bpmn_id for t in self.open_tasks()})) or "none"
                raise RunError(f"{step.target} is not open (open tasks: {open_ids})")
            self.complete(found[0], step.data, step.actor, step.department)
            return
        if step.action == "job":
            self.play_job(step)
        elif step.action in ("suspend", "resume"):
            suspend = step.action == "suspend"
            run_command(state.sessions, lambda s: instances.set_suspended(
                s, state.ctx, self.instance_id, suspend, actor=step.actor or "admin", now=now,
                reason=step.target or ""))
        elif step.action == "terminate":
            run_command(state.sessions, lambda s: instances.terminate(
                s, state.ctx, self.instance_id, actor=step.actor or "admin", now=now, reason=step.target or ""))
        self.settle()

    def play_job(self, step: Step) -> None:
        state, now = self.state, self.clock.now()
        worker = step.actor or SCENARIO_WORKER
        claimed = [j for j in run_command(state.sessions, lambda s: jobs.claim(
            s, state.ctx, [TopicRequest(str(step.target), timedelta(minutes=5))], worker=worker, max_jobs=50,
            now=now)) if j.instance_id == self.instance_id]
        if not claimed:
            raise RunError(f"no open {step.target} job (hold the topic under [workers] so it waits for this step)")
        job_id = claimed[0].id
        if step.error is not None:
            run_command(state.sessions, lambda s: jobs.bpmn_error(
                s, state.ctx, job_id, str(step.error), message=step.message, variables=step.data or {},
                worker=worker, actor=worker, now=now))
        elif step.fail is not None:
            run_command(state.sessions, lambda s: jobs.fail(
                s, state.ctx, job_id, worker=worker, actor=worker, now=now, error_message=str(step.fail),
                retries=step.retries if step.retries is not None else 0))
        else:
            run_command(state.sessions, lambda s: jobs.complete(
                s, state.ctx, job_id, dict(step.data or {}), worker=worker, actor=worker, now=now))

    # --- the whole run ---------------------------------------------------------------------------------------

    def start(self) -> None:
        scenario, state = self.scenario, self.state
        self.clock.set(scenario.start_at)
        now = self.clock.now()
        if scenario.applicants:
            from engine.bureau import applicants

            for profile in scenario.applicants:
                run_command(state.sessions, lambda s, p=profile: applicants.submit_profile(
                    s, state.ctx.forms_dir, p, actor="applicant", now=now))
        if scenario.via_application:
            from engine.bureau import applications

            out = run_command(state.sessions, lambda s: applications.submit(
                s, state.ctx, scenario.process, dict(scenario.start_data), actor=scenario.start_actor, now=now))
        else:
            out = run_command(state.sessions, lambda s: instances.start(
                s, state.ctx, scenario.process, dict(scenario.start_data), actor=scenario.start_actor, now=now,
                business_key=scenario.business_key))
        self.instance_id = out.id
        self.settle()

    def running(self) -> bool:
        with self.state.sessions() as session:
            instance = session.get(ProcessInstance, self.instance_id)
            return instance is not None and instance.status in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)

    def run(self) -> None:
        self.start()
        limit = self.day_at(self.scenario.until_day, datetime.max.time()) \
            if self.scenario.until_day is not None else None
        for _ in range(MAX_MOVES):
            step_at = self.day_at(self.steps[0].day, self.steps[0].at) if self.steps else None
            plans = self.autopilot_plans() if self.running() else {}
            pilot_at = min((when for when, _t in plans.values()), default=None)
            engine_at = self.next_engine_event()
            candidates = [t for t in (step_at, pilot_at, engine_at) if t is not None]
            if limit is not None:
                candidates = [t for t in candidates if t <= limit]
            if not candidates:
                if limit is not None and self.clock.now() < limit:
                    self.move_to(limit)
                if self.steps:
                    step = self.steps[0]
                    raise RunError(f"{step.describe()} is after until_day {self.scenario.until_day}")
                return
            when = min(candidates)
            if engine_at is not None and engine_at == when:
                self.move_to(when)
            elif step_at is not None and step_at == when:
                step = self.steps.pop(0)
                self.move_to(when)
                try:
                    self.play(step)
                except (RunError, EngineError) as exc:
                    detail = exc.detail if isinstance(exc, EngineError) else str(exc)
                    raise RunError(f"{step.describe()}: {detail}") from exc
            else:
                task_id = min(plans, key=lambda k: (plans[k][0], plans[k][1].bpmn_id))
                when, task = plans[task_id]
                self.move_to(when)
                try:
                    self.complete(task, None, None, None)
                except EngineError as exc:
                    raise RunError(f"autopilot completing {task.bpmn_id} at {when.isoformat()}: {exc.detail}") from exc
        raise RunError(f"the scenario never settles (more than {MAX_MOVES} clock moves)")


def run_scenario(scenario: Scenario, bench: Workbench) -> ScenarioResult:
    """Play one scenario in a fresh copy of its process's template database and check its expectations."""
    began = timing.perf_counter()
    result = ScenarioResult(scenario)
    try:
        bpmn = scenario.bpmn or bench.path(scenario.process)
        template, specs = bench.template(bpmn)
    except (RunError, EngineError) as exc:
        result.error = str(exc) if isinstance(exc, RunError) else f"{exc.detail}"
        result.seconds = timing.perf_counter() - began
        return result
    with tempfile.TemporaryDirectory(prefix="scenario-", dir=bench.workdir) as tmp:
        directory = Path(tmp)
        shutil.copyfile(template, directory / DATABASE_FILE)
        clock = SimulatedClock(scenario.start_at)
        state = build_state(scenario_settings(bench.base, directory), clock=clock)
        state.ctx.specs = specs  # the template's definition ids, parsed once per run
        try:
            run = ScenarioRun(scenario, state, clock)
            try:
                run.run()
            except RunError as exc:
                result.error = str(exc)
            except EngineError as exc:
                result.error = exc.detail
            if run.instance_id:
                result.outcome = observe(state, run.instance_id, bench.structure(bpmn))
                if result.error is None:
                    result.failures = result.outcome.check(scenario.expect)
        finally:
            state.db_engine.dispose()
    result.seconds = timing.perf_counter() - began
    return result
