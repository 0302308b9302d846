"""The simulation loop: projects arrive, clerks answer tasks, timers fire, workers run — all through the engine's
services on a fresh database file, on a simulated clock that jumps from one event to the next (an arrival, a
planned answer, a timer's due time), the way a scheduler ticking every few seconds would see them."""

from __future__ import annotations

import heapq
import secrets
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from engine.app_state import AppState, build_state
from engine.bureau import applicants, applications, credit
from engine.bureau.catalog import current_catalog
from engine.bureau.deps import BureauDeps
from engine.bureau.notices import MemorySender
from engine.bureau.uscc import check_character
from engine.calendar import SHANGHAI
from engine.clock import SimulatedClock
from engine.config import Settings
from engine.errors import EngineError
from engine.services import deployments, human_tasks, timers
from engine.services.commands import run_command
from engine.simulation.behaviour import PROCESS_OF, Project, Rates, draw_projects, plan_task, split_by_applicant
from engine.simulation.reads import LoopReads

START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday
CACHE_MARGIN = 16  # workflow-cache entries beyond one per project
QUERY_CHUNK = 500  # instance ids per IN (...) list (SQLite allows 32,766 parameters; keep statements small)
DATABASE = "simulation.sqlite3"  # the file in the simulation's directory


class OpenTask(Protocol):
    """What planning reads of an open task: a `HumanTask` or a row of its columns."""

    id: str
    instance_id: str
    bpmn_id: str
    form_key: str | None
    properties: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class SimulationConfig:
    projects: int
    kind: str = "mixed"  # commercial | government | mixed
    seed: int = 1
    rates: Rates = field(default_factory=Rates)
    arrival_span_wd: int = 60  # projects arrive over this many working days
    start: datetime = START
    directory: Path | None = None  # where the database file goes (default: a fresh temporary directory)
    documents: bool = False  # render permit PDFs too
    shard: int = 0  # this run takes this share of the applicants' projects (behaviour.split_by_applicant)
    shards: int = 1


@dataclass
class Counters:
    commands: int = 0
    jobs: int = 0
    timers: int = 0
    stale_answers: int = 0  # planned answers to tasks a timer or another branch had closed meanwhile


def credit_code(serial: int) -> str:
    body = f"91150100MA{serial:07d}"
    return body + check_character(body)


def simulation_settings(base: Settings, directory: Path) -> Settings:
    """The base settings on a fresh SQLite file in `directory`, background services off (the loop drives).

    `synchronous=OFF`, as the scenario runner's: the file is a throwaway (only an operating-system crash, not the
    process's, could lose what OFF does not sync), and NORMAL's syncs at each WAL checkpoint cost ~6% of a run.
    The rollback journal in memory instead of the WAL: this process alone uses the file, one transaction at a time,
    and each commit writes its pages once instead of to the WAL and again at a checkpoint (`simulate --projects
    1000 --processes 2`: 117.9 s against 123.7 s wall, the same figures). A rollback still undoes a transaction;
    only a process killed in the middle of a commit could leave the file unusable, and its run has failed anyway.

    16 KiB pages and a 64 MiB page cache: a command rewrites its instance's ~150 KB state, 37 overflow pages of
    4 KiB each, one `pwrite` apiece, and a share's file outgrows SQLite's 2 MB cache (`simulate --projects 100
    --processes 1`: 615k system calls, 409k with 16 KiB pages; `strace -c` at 40 projects, with both: `pwrite64`
    123k -> 58k, `pread64` 42k -> 14k; at 300 projects, runs alternated with the defaults: 68.7 -> 66.7 s and
    71.5 -> 70.7 s wall)."""
    return replace(
        base,
        database=replace(base.database, url=f"sqlite:///{directory / DATABASE}", sqlite_synchronous="OFF",
                         sqlite_journal_mode="MEMORY", sqlite_page_size=16384, sqlite_cache_kib=65536),
        paths=replace(base.paths, var=str(directory / "var")),
        scheduler=replace(base.scheduler, enabled=False),
        workers=replace(base.workers, enabled=False),
        audit=replace(base.audit, hmac_key=base.audit.hmac_key or secrets.token_hex(32)),  # a throwaway database
    )


class Simulation:
    def __init__(self, base: Settings, config: SimulationConfig, *,
                 progress: Callable[[int], None] | None = None) -> None:
        from engine.migrate import upgrade

        self.config = config
        directory = config.directory or Path(tempfile.mkdtemp(prefix="approvals-simulate-"))
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.settings = simulation_settings(base, directory)
        self.clock = SimulatedClock(config.start)
        upgrade(self.settings, "heads")
        self.state: AppState = build_state(self.settings, clock=self.clock)
        self.reads = LoopReads(directory / DATABASE, self.state.db_engine.dialect)
        # Every running project's instance stays in the workflow cache (an ended one leaves it): projects overlap
        # for most of the run (arrivals over 60 working days, 40-75 days each), and a miss rebuilds the ~150 KB
        # state from JSON (~15 ms).
        workflows = self.state.ctx.workflows
        workflows.maxsize = max(workflows.maxsize, config.projects + CACHE_MARGIN)
        for key in PROCESS_OF.values():
            path = self.state.ctx.processes_dir / f"{key}.bpmn"
            run_command(self.state.sessions, lambda s, p=path: deployments.deploy_path(
                s, self.state.ctx, p, actor="simulation", now=self.clock.now()))
        self.sender = MemorySender()
        self.deps = BureauDeps(self.state.sessions, self.state.ctx, self.clock, sender=self.sender,
                               documents_dir=directory / "documents" if config.documents else None)
        import workers
        from engine.sdk import WorkerRunner
        from engine.simulation.jobs_gate import GatedLocalBackend

        self.backend = GatedLocalBackend(self.state, next_claimable=self.reads.next_claimable)
        self.workers = WorkerRunner(self.settings, workers.ROUTERS, backend=self.backend, deps=self.deps,
                                    worker_id="simulation", topics=["*"], concurrency=1)
        drawn, self.pool = draw_projects(config.projects, config.kind, config.seed, config.rates,
                                         config.arrival_span_wd)
        self.projects = split_by_applicant(drawn, config.shards)[config.shard]
        self.by_instance: dict[str, Project] = {}
        self.profiled: set[int] = set()
        self.counters = Counters()
        self.progress = progress
        self._planned: set[str] = set()
        self._task_instance: dict[str, str] = {}  # planned task id -> its instance
        self._touched: set[str] = set()  # instances a command changed since the last planning
        self._actions: list[tuple[datetime, int, str, dict[str, Any]]] = []
        self._sequence = 0
        self._seen_since = config.start
        with self.state.sessions() as s:
            self.calendar = self.state.ctx.calendars.get(s)
            catalog = current_catalog(s, self.state.ctx.processes_dir)
        self.materials = {key: [m.code for matter in catalog.matters_for(key) for m in matter.materials]
                          for key in PROCESS_OF.values()}

    def close(self) -> None:
        """Release the database: the loop's reading connection and the engine's pool."""
        self.reads.close()
        self.state.db_engine.dispose()

    # --- the loop ----------------------------------------------------------------------------------------------

    def run(self) -> None:
        arrivals = [(self._arrival_time(p), p) for p in self.projects]
        index = 0
        while True:
            candidates = []
            if index < len(arrivals):
                candidates.append(arrivals[index][0])
            if self._actions:
                candidates.append(self._actions[0][0])
            due = self._next_timer()
            if due is not None:
                candidates.append(due)
            if not candidates:
                return
            self.clock.set(max(self.clock.now(), min(candidates)))
            while index < len(arrivals) and arrivals[index][0] <= self.clock.now():
                self._arrive(arrivals[index][1])
                index += 1
                if self.progress:
                    self.progress(1)
            self._settle()
            while self._actions and self._actions[0][0] <= self.clock.now():
                _when, _seq, task_id, data = heapq.heappop(self._actions)
                self._answer(task_id, data)
                self._settle()

    def _settle(self) -> None:
        """Fire due timers and run jobs until nothing moves; then plan the answers to tasks that opened."""
        while True:
            fired = self._fire_due()
            if fired.fired:
                self._touched.update(self._instances_of_timers(fired.fired))
            ran = self.workers.run_until_idle()
            self._touched.update(self.backend.take_instances())
            self.counters.timers += len(fired.fired)
            self.counters.jobs += ran
            if not fired.fired and not ran:
                break
        self._plan_new_tasks()

    def _fire_due(self) -> timers.FireReport:
        """`timers.fire_due`, after a cheaper read: most calls find no timer due (an empty tick's candidate
        query in a session costs about twice the index-only minimum read on a connection)."""
        now, due = self.clock.now(), self._next_timer()
        if due is None or due > now:
            return timers.FireReport()
        return timers.fire_due(self.state.sessions, self.state.ctx, now, 500)

    def _next_timer(self) -> datetime | None:
        return self.reads.next_due()

    # --- applicants and clerks ---------------------------------------------------------------------------------

    def _arrival_time(self, project: Project) -> datetime:
        start = self.config.start.astimezone(SHANGHAI)
        day = self.calendar.add_working_days(start.date(), project.arrival_wd).date
        return datetime(day.year, day.month, day.day, 9 + project.number % 8, tzinfo=SHANGHAI)

    def _arrive(self, project: Project) -> None:
        code = credit_code(project.applicant + 1)
        now = self.clock.now()
        if project.applicant not in self.profiled:  # a new applicant enters the profile once
            data = {"credit_code": code, "name": f"呼和浩特示范建设单位{project.applicant + 1}有限公司",
                    "legal_representative": "王建华", "contact_name": "刘海燕",
                    "contact_phone": f"138{project.applicant + 1:08d}", "address": "呼和浩特市新城区示范大街1号"}
            run_command(self.state.sessions, lambda s: applicants.submit_profile(
                s, self.state.ctx.forms_dir, data, actor="applicant", now=now))
            self.profiled.add(project.applicant)
            if project.rng.random() < self.config.rates.blacklisted:
                run_command(self.state.sessions, lambda s: credit.record(
                    s, credit_code=code, kind=credit.BLACKLIST, reason="失信被执行人", actor="simulation", now=now))
        application = {"credit_code": code, "project_name": f"示范项目{project.number + 1:04d}",
                       "materials": [m for m in self.materials[project.process_key] if m not in project.missing],
                       "channel": project.channel, "zone_id": project.zone_id,
                       "commitment_requested": project.commitment, "consultation_requested": project.consultation}
        out = run_command(self.state.sessions, lambda s: applications.submit(
            s, self.state.ctx, project.process_key, application, actor="applicant", now=now))
        project.instance_id = out.id
        self.by_instance[out.id] = project
        self._touched.add(out.id)
        self.counters.commands += 2

    def _plan_new_tasks(self) -> None:
        """Plan the answers to tasks opened since the last call.

        Only instances a command changed since then can have new tasks (every command of the loop works on one
        instance: an arrival, an answer, a job, a timer), so the query looks up those through the (status,
        instance) index instead of reading every open task of the run (thousands at 1,000 projects, ~40 calls
        per project). Rows come in the order the earlier whole-table read gave them, instance id then insertion
        (rowid), so answers due at the same moment keep their sequence and a seed its figures.
        """
        touched, self._touched = sorted(self._touched), set()
        rows: list[Any] = []
        for start in range(0, len(touched), QUERY_CHUNK):  # plain rows of the columns planning reads
            rows.extend(self.reads.new_tasks(touched[start:start + QUERY_CHUNK], self._seen_since))
        rows.sort(key=lambda row: (row.instance_id, row.rowid))
        self._plan(rows)

    def _plan(self, rows: Sequence[OpenTask]) -> None:
        """Schedule the simulated answer of every open task not planned yet, in the order given."""
        for row in rows:
            if row.id in self._planned:
                continue
            self._planned.add(row.id)
            project = self.by_instance[row.instance_id]
            opened = row.created_at.astimezone(SHANGHAI)
            plan = plan_task(project, row.bpmn_id, (row.form_key or "").removesuffix(".schema.json"),
                             row.properties or {}, opened.date().isoformat(), self.config.rates)
            if plan.after_wd is None:
                continue
            day = self.calendar.add_working_days(opened.date(), plan.after_wd).date
            when = max(self.clock.now(), datetime(day.year, day.month, day.day, plan.hour, tzinfo=SHANGHAI))
            self._sequence += 1
            self._task_instance[row.id] = row.instance_id
            heapq.heappush(self._actions, (when, self._sequence, row.id, plan.data))
        self._seen_since = self.clock.now()

    def _instances_of_timers(self, timer_ids: list[str]) -> set[str]:
        return self.reads.timer_instances(timer_ids)

    def _answer(self, task_id: str, data: dict[str, Any]) -> None:
        state = self.state
        self._touched.add(self._task_instance.pop(task_id))
        try:
            run_command(state.sessions, lambda s: human_tasks.complete(
                s, state.ctx, task_id, data, actor="clerk", now=self.clock.now()))
            self.counters.commands += 1
        except EngineError as exc:
            if exc.status != 409:  # a closed task (deemed, returned, withdrawn) is expected; anything else is not
                raise
            self.counters.stale_answers += 1


def stuck_instances(state: AppState) -> int:
    from engine.simulation.figures import running_instances

    with state.sessions() as s:
        return running_instances(s)


