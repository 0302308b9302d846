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
- stock: SpiffWorkflow 3.2's own parser and script engine on the same file, in memory, nothing persisted, in a
  child interpreter that never imports `engine` (bench/stock_spiff.py: engine.bpmn patches Spiff's hot paths).
  Stock Spiff evaluates timer text as Python, so its copy of the XML quotes `P5D` (the adapter DESIGN.md §5
  mentions), and its service tasks answer through `call_service` (Spiff's extension point for them).

Each run does the same number of instances on each backend, interleaved (stock, SQLite, PostgreSQL) so that
machine load hits them alike; the report is the median of the runs with min and max, and the ratio
persisted / stock; CPU ms per instance is each process's own CPU time (steadier than wall time on a loaded
machine); the last line is the floor a durable SQLite commit on this disk puts under 14 commits.
Where ours goes: the CPU spent in the state dump (`dump_workflow`, timed around each call in this process) per
instance, and the ratio stock CPU / (ours CPU - dump CPU): what the rest of the command path costs against stock
(Spiff's own work patched, rows, events, locks, commits), i.e. how far the state dump alone keeps us from stock.
Run by hand: .venv/bin/python bench/engine_throughput.py [--runs 5] [--instances 30] [--normal] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stock_spiff import StockProcess

ROOT = Path(__file__).resolve().parent.parent
BPMN = ROOT / "bench" / "approval_9.bpmn"
REVIEWS = 9
STOCK = "stock Spiff (memory)"

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


# -- stock SpiffWorkflow, in memory: bench/stock_spiff.py, in its own interpreter (engine.bpmn patches Spiff) ----


# -- the engine, persisted ---------------------------------------------------------------------------------------


Rate = tuple[float, float]  # instances per second, CPU ms per instance (this process)


class DumpMeter:
    """CPU seconds spent in `dump_workflow` by the command path of this process, once `install`ed (by `main`
    only: the other benches import this module and must measure the command path unwrapped)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> None:
        from engine.services import execution

        dump = execution.dump_workflow

        def timed(workflow: Any) -> str:
            cpu = time.process_time()
            try:
                return dump(workflow)
            finally:
                self.seconds += time.process_time() - cpu

        execution.dump_workflow = timed  # type: ignore[assignment]


DUMPS = DumpMeter()


def persisted_runner(url: str, var: Path, synchronous: str = "FULL") -> tuple[Callable[[int], Rate], AppState]:
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": url, "sqlite_synchronous": synchronous}, "audit": {"hmac_key": "bench-hmac-key"},
        "paths": {"var": str(var)}, "scheduler": {"enabled": False}, "workers": {"enabled": False}})
    state = build_state(settings)
    Base.metadata.create_all(state.db_engine)
    run_command(state.sessions, lambda s: deployments.deploy_path(s, state.ctx, BPMN, actor="bench",
                                                                  now=state.clock.now()))
    worker = WorkerRunner(settings, [router], backend=LocalBackend(state), worker_id="bench-worker",
                          topics=["bench.*"])

    def run(n: int) -> Rate:
        started, cpu, dumped = time.perf_counter(), time.process_time(), DUMPS.seconds
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
        rate, cpu_ms = n / (time.perf_counter() - started), (time.process_time() - cpu) / n * 1000
        dump_ms.append((DUMPS.seconds - dumped) / n * 1000)
        return rate, cpu_ms

    dump_ms: list[float] = []
    run.dump_ms = dump_ms  # type: ignore[attr-defined]
    return run, state


def postgres_database() -> tuple[str, Callable[[], None]] | None:
    import os

    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("APPROVALS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    admin = {"host": base.host, "port": base.port or 5432, "user": base.username, "password": base.password,
             "dbname": base.database, "autocommit": True, "connect_timeout": 3}
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


def durable_commit_ms(directory: Path, commits: int = 50) -> float:
    """One SQLite WAL commit with synchronous=FULL on this disk: the floor under every durable command."""
    import sqlite3

    connection = sqlite3.connect(directory / "fsync.sqlite3", isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE t (v TEXT)")
    started = time.perf_counter()
    for _ in range(commits):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t VALUES (?)", ("x" * 2000,))
        connection.execute("COMMIT")
    connection.close()
    return (time.perf_counter() - started) / commits * 1000


def summary(name: str, rates: list[Rate]) -> str:
    per_s = [r for r, _ in rates]
    cpu = statistics.median(c for _, c in rates)
    return (f"{name:<26} median {statistics.median(per_s):7.2f} inst/s   min {min(per_s):7.2f}   "
            f"max {max(per_s):7.2f}   CPU {cpu:6.1f} ms/inst   runs {len(rates)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--instances", type=int, default=30, help="instances per run and backend")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--normal", action="store_true",
                        help="also run SQLite with synchronous=NORMAL (durable on a crash of the process, not of "
                             "the machine): the engine's CPU cost without the fsync floor")
    args = parser.parse_args()
    DUMPS.install()

    stock = StockProcess(BPMN, "approval_9")
    backends: dict[str, Callable[[int], Rate]] = {STOCK: stock.run}
    cleanups: list[Callable[[], None]] = [stock.close]
    with tempfile.TemporaryDirectory() as tmp:
        commit_ms = durable_commit_ms(Path(tmp))
        sqlite_run, sqlite_state = persisted_runner(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "var")
        backends["engine SQLite (FULL)"] = sqlite_run
        cleanups.append(sqlite_state.db_engine.dispose)
        if args.normal:
            normal_run, normal_state = persisted_runner(f"sqlite:///{tmp}/normal.sqlite3", Path(tmp) / "var",
                                                        synchronous="NORMAL")
            backends["engine SQLite (NORMAL)"] = normal_run
            cleanups.append(normal_state.db_engine.dispose)
        pg = None if args.no_postgres else postgres_database()
        if pg is not None:
            url, drop = pg
            pg_run, pg_state = persisted_runner(url, Path(tmp) / "var")
            backends["engine PostgreSQL"] = pg_run
            cleanups += [pg_state.db_engine.dispose, drop]
        try:
            for run in backends.values():
                run(2)  # warm up: imports, spec caches, connection pools
            rates: dict[str, list[Rate]] = {name: [] for name in backends}
            load = os.getloadavg()[0]
            for _ in range(args.runs):
                for name, run in backends.items():
                    rates[name].append(run(args.instances))
            load = max(load, os.getloadavg()[0])
        finally:
            for cleanup in cleanups:
                cleanup()
    print(f"approval_9: {args.instances} instances per run, {args.runs} runs per backend (14 transactions per "
          f"persisted instance); {os.cpu_count()} CPUs, load average up to {load:.1f}")
    for name, values in rates.items():
        print(summary(name, values))
    base = statistics.median(r for r, _ in rates[STOCK])
    for name in [n for n in rates if n.startswith("engine")]:
        print(f"ratio {name} / stock in-memory: {statistics.median(r for r, _ in rates[name]) / base:.2f}")
    stock_cpu = statistics.median(c for _, c in rates[STOCK])
    for name in [n for n in rates if n.startswith("engine")]:
        dump_ms = backends[name].dump_ms[1:]  # type: ignore[attr-defined]  # [0] is the warm-up
        cpu = statistics.median(c for _, c in rates[name])
        dump = statistics.median(dump_ms)
        print(f"{name}: state dump {dump:.1f} of {cpu:.1f} ms CPU per instance ({dump / cpu:.0%}); "
              f"stock CPU / (ours - dump): {stock_cpu / (cpu - dump):.2f}")
    print(f"durable SQLite commit on this disk: {commit_ms:.2f} ms -> at most {1000 / (14 * commit_ms):.1f} "
          f"persisted inst/s with 14 durable commits each")


if __name__ == "__main__":
    main()
