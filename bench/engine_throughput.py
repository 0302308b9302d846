"""Persisted instances per second of approval_9 on SQLite and PostgreSQL, against stock SpiffWorkflow in memory.

The workload is bench/approval_9.bpmn (../shared/bench/approval_9.bpmn adapted to pass lint: `bench.*` topics,
candidate groups, calendar = natural; the `P5D` timers stay bare literals). One instance = intake (a service
task) -> 9 parallel reviews, each in a subprocess with an interrupting P5D boundary timer -> join -> decision
-> permit (a service task) -> end.

- persisted: every step is a command in its own transaction through the service layer, exactly as in
  production: `instances.start`, the intake job claimed and completed by an in-process `WorkerRunner`
  (LocalBackend), the 9 reviews completed with `human_tasks.complete`, the permit job by the worker. That is
  14 transactions per instance, each with its row locks, state save, job/task/timer rows and hash-chained events.
  SQLite is the embedded default (WAL, synchronous=FULL); PostgreSQL a fresh database on
  APPROVALS_TEST_POSTGRES_URL (default commit settings).
- stock: SpiffWorkflow 3.2's own parser and script engine on the same file, in memory, nothing persisted.
  Stock Spiff evaluates timer text as Python, so its copy of the XML quotes `P5D` (the adapter DESIGN.md §5
  mentions), and its service tasks answer through `call_service` (Spiff's extension point for them).

Each run does the same number of instances on each backend, interleaved (stock, SQLite, PostgreSQL) so that
machine load hits them alike; the report is the median of the runs with min and max, and the ratio
persisted / stock. Run by hand: .venv/bin/python bench/engine_throughput.py [--runs 5] [--instances 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.app_state import AppState, build_state
from engine.config import load_settings
from engine.db import Base
from engine.sdk import JobContext, LocalBackend, TaskRouter, WorkerRunner
from engine.services import deployments, human_tasks, instances
from engine.services.commands import run_command

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bench" / "approval_9.bpmn"
REVIEWS = 9

router = TaskRouter()


@router.task("bench.intake")
def intake(ctx: JobContext) -> dict[str, object]:
    return {"received": ctx.job_id}


@router.task("bench.issue_permit")
def issue_permit(ctx: JobContext) -> dict[str, object]:
    return {"permit_no": ctx.job_id[:8]}


@router.task("bench.deemed_approved")
def deemed_approved() -> dict[str, object]:
    return {"deemed": True}


# -- stock SpiffWorkflow, in memory ------------------------------------------------------------------------------


def stock_runner() -> Callable[[int], float]:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    class ServiceAnswers(PythonScriptEngine):
        def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
            return json.dumps({"operation": operation_name, "ok": True})

    xml = BPMN.read_text(encoding="utf-8").replace(">P5D<", ">\"P5D\"<")  # stock timers eval their text
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "approval_9_stock.bpmn"
        path.write_text(xml, encoding="utf-8")
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(path))
        spec, subprocess_specs = parser.get_spec("approval_9"), parser.get_subprocess_specs("approval_9")
    engine = ServiceAnswers()

    def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
            workflow.do_engine_steps()
            for task in workflow.get_tasks(state=TaskState.READY, manual=True):
                task.data[task.task_spec.bpmn_id] = "approve"
                task.run()
                workflow.do_engine_steps()
            assert workflow.is_completed(), "stock instance did not finish"
        return n / (time.perf_counter() - started)

    return run


# -- the engine, persisted ---------------------------------------------------------------------------------------


def persisted_runner(url: str, var: Path) -> tuple[Callable[[int], float], AppState]:
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": url}, "audit": {"hmac_key": "bench-hmac-key"}, "paths": {"var": str(var)},
        "scheduler": {"enabled": False}, "workers": {"enabled": False}})
    state = build_state(settings)
    Base.metadata.create_all(state.db_engine)
    run_command(state.sessions, lambda s: deployments.deploy_path(s, state.ctx, BPMN, actor="bench",
                                                                  now=state.clock.now()))
    worker = WorkerRunner(settings, [router], backend=LocalBackend(state), worker_id="bench-worker",
                          topics=["bench.*"])

    def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            instance_id = run_command(state.sessions, lambda s: instances.start(
                s, state.ctx, "approval_9", {}, actor="bench", now=state.clock.now())).id
            assert worker.run_until_idle() == 1  # intake
            with state.sessions() as session:
                tasks = human_tasks.list_tasks(session, instance_id=instance_id)
            assert len(tasks) == REVIEWS
            for task in tasks:
                run_command(state.sessions, lambda s, t=task: human_tasks.complete(
                    s, state.ctx, t.id, {t.bpmn_id: "approve"}, actor="clerk", now=state.clock.now()))
            assert worker.run_until_idle() == 1  # permit
            with state.sessions() as session:
                assert instances.get_instance(session, instance_id).status == "completed"
        return n / (time.perf_counter() - started)

    return run, state


def postgres_database() -> tuple[str, Callable[[], None]] | None:
    import os

    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("APPROVALS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    admin = dict(host=base.host, port=base.port or 5432, user=base.username, password=base.password,
                 dbname=base.database, autocommit=True, connect_timeout=3)
    name = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"PostgreSQL skipped: {exc}".strip())
        return None

    def drop() -> None:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base.set(database=name).render_as_string(hide_password=False), drop


def summary(name: str, rates: list[float]) -> str:
    return (f"{name:<22} median {statistics.median(rates):7.2f} inst/s   min {min(rates):7.2f}   "
            f"max {max(rates):7.2f}   runs {len(rates)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--instances", type=int, default=30, help="instances per run and backend")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    backends: dict[str, Callable[[int], float]] = {"stock Spiff (memory)": stock_runner()}
    cleanups: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_run, sqlite_state = persisted_runner(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "var")
        backends["engine SQLite"] = sqlite_run
        cleanups.append(sqlite_state.db_engine.dispose)
        pg = None if args.no_postgres else postgres_database()
        if pg is not None:
            url, drop = pg
            pg_run, pg_state = persisted_runner(url, Path(tmp) / "var")
            backends["engine PostgreSQL"] = pg_run
            cleanups += [pg_state.db_engine.dispose, drop]
        try:
            for run in backends.values():
                run(2)  # warm up: imports, spec caches, connection pools
            rates: dict[str, list[float]] = {name: [] for name in backends}
            for _ in range(args.runs):
                for name, run in backends.items():
                    rates[name].append(run(args.instances))
        finally:
            for cleanup in cleanups:
                cleanup()
    print(f"approval_9: {args.instances} instances per run, {args.runs} runs per backend (14 transactions per "
          f"persisted instance)")
    for name, values in rates.items():
        print(summary(name, values))
    stock = statistics.median(rates["stock Spiff (memory)"])
    for name in [n for n in rates if n.startswith("engine")]:
        print(f"ratio {name} / stock in-memory: {statistics.median(rates[name]) / stock:.2f}")


if __name__ == "__main__":
    main()
