"""Where one worker process's CPU goes on PostgreSQL: claim vs handler vs complete (load-independent measures).

Starts `--jobs` instances of the one-service-task process (as bench/workers_pg.py does) on a fresh database,
then one child process (this script with --child, so every workflow is a cache miss as in the real benchmark)
drains them with LocalBackend, counting per phase: process CPU ms, SQL statements (a `before_cursor_execute`
listener; the pool's pre-ping counted too), and for the whole run: the PostgreSQL backend's CPU (/proc), the
workflow cache's hits and the cyclic GC's time. With --profile: Python function calls (cProfile with a CPU clock;
the top functions by own time and the engine's functions by cumulative time are printed).

    .venv/bin/python bench/profile_worker_pg.py [--jobs 200] [--io-ms 0] [--profile [--dump FILE]]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import gc
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness
from engine_throughput import postgres_database
from sqlalchemy import event

from engine.sdk import LocalBackend, TaskRouter, WorkerRunner

router = TaskRouter()
IO_SECONDS = 0.0


@router.task("bench.io")
def io_task() -> dict[str, object]:
    if IO_SECONDS:
        time.sleep(IO_SECONDS)
    return {"ok": True}


class Phases:
    """CPU seconds and statements per phase; the phase is whatever backend call is running."""

    def __init__(self) -> None:
        self.phase = "other"
        self.cpu: collections.Counter[str] = collections.Counter()
        self.statements: collections.Counter[str] = collections.Counter()
        self.kinds: collections.Counter[tuple[str, str]] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()

    def wrap(self, name: str, fn: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            previous, self.phase = self.phase, name
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[name] += time.process_time() - started
                self.calls[name] += 1
                self.phase = previous
        return wrapped

    def on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements[self.phase] += 1
        words = statement.split()
        kind = " ".join(words[:3])[:60] if words else "?"
        if words and words[0].upper() == "SELECT":
            found = re.search(r"\bFROM\s+(\w+)", statement, re.IGNORECASE)
            kind = "SELECT … FROM " + (found.group(1) if found else "?")
            if "FOR UPDATE" in statement.upper():
                kind += " FOR UPDATE"
        self.kinds[(self.phase, kind)] += 1


def _server_cpu(pid: int) -> float:
    """CPU seconds of a PostgreSQL backend process (same machine): utime + stime from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child(url: str, var: str, io_ms: float, profile: bool) -> None:
    global IO_SECONDS
    IO_SECONDS = io_ms / 1000
    state = harness.engine_state(url, Path(var))
    phases = Phases()
    event.listen(state.db_engine, "before_cursor_execute", phases.on_statement)
    do_ping = state.db_engine.dialect.do_ping

    def counted_ping(connection: Any) -> bool:  # pool_pre_ping's round trip is not a cursor event
        phases.statements[phases.phase] += 1
        phases.kinds[(phases.phase, "pre-ping")] += 1
        return do_ping(connection)

    state.db_engine.dialect.do_ping = counted_ping  # type: ignore[method-assign]
    backends: set[int] = set()

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        backends.add(dbapi_connection.info.backend_pid)

    event.listen(state.db_engine, "connect", on_connect)
    state.db_engine.dispose()
    backend = LocalBackend(state)
    backend.fetch = phases.wrap("claim", backend.fetch)  # type: ignore[method-assign]
    backend.complete = phases.wrap("complete", backend.complete)  # type: ignore[method-assign]
    worker = WorkerRunner(state.settings, [router], backend=backend, topics=["bench.*"], concurrency=1)
    profiler = cProfile.Profile(time.process_time) if profile else None  # CPU, not waits
    with state.db_engine.connect():
        pass  # the backend whose CPU is counted exists before the clock starts
    collections_: collections.Counter[str] = collections.Counter()
    gc_started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:  # time in the cyclic GC, per generation
        if phase == "start":
            gc_started[:] = [time.process_time()]
        elif gc_started:
            collections_[f"gen{info['generation']}"] += 1
            collections_["cpu_s"] += time.process_time() - gc_started[0]

    gc.callbacks.append(on_gc)
    server0 = {pid: _server_cpu(pid) for pid in backends}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    done = worker.run_until_idle()
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    phases.cpu["runner+handler"] = cpu - phases.cpu["claim"] - phases.cpu["complete"]
    server = sum(_server_cpu(pid) - server0.get(pid, 0.0) for pid in backends)
    report: dict[str, Any] = {
        "jobs": done, "cpu_ms_per_job": cpu * 1000 / done, "wall_ms_per_job": wall * 1000 / done,
        "server_cpu_ms_per_job": server * 1000 / done, "backends": len(backends),
        "phase_cpu_ms_per_job": {k: v * 1000 / done for k, v in phases.cpu.items()},
        "statements_per_job": {k: v / done for k, v in phases.statements.items()},
        "kinds": sorted(([p, k, n / done] for (p, k), n in phases.kinds.items()), key=lambda x: (x[0], -x[2])),
        "cache": {"hits": state.ctx.workflows.hits, "misses": state.ctx.workflows.misses},
        "gc": {"collections": {k: v for k, v in collections_.items() if k != "cpu_s"},
               "cpu_ms_per_job": collections_["cpu_s"] * 1000 / done, "thresholds": gc.get_threshold()},
    }
    if profiler:
        stats = pstats.Stats(profiler)
        Path(var).mkdir(parents=True, exist_ok=True)
        stats.dump_stats(Path(var) / "worker.prof")  # kept by the parent with --dump
        report["calls_per_job"] = stats.total_calls / done  # type: ignore[attr-defined]
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(35)
        report["top"] = out.getvalue()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(r"engine/", 60)
        report["cumulative"] = out.getvalue()
    print(json.dumps(report), flush=True)
    state.db_engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--io-ms", type=float, default=0)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--dump", help="with --profile: write the raw cProfile stats to this file (pstats)")
    args = parser.parse_args()
    pg = postgres_database()
    if pg is None:
        return
    url, drop = pg
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = harness.engine_state(url, Path(tmp) / "var")
            pid, xml = harness.service_bpmn("bench.io")
            harness.deploy(state, harness.write(Path(tmp), pid, xml))
            for _ in range(args.jobs):
                harness.start(state, pid)
            state.db_engine.dispose()
            command = [sys.executable, __file__, "--child", url, str(Path(tmp) / "var"), str(args.io_ms)]
            if args.profile:
                command.append("--profile")
            output = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True, timeout=900).stdout
            report = json.loads(output.strip().splitlines()[-1])
            if args.dump and args.profile:
                Path(args.dump).write_bytes((Path(tmp) / "var" / "worker.prof").read_bytes())
    finally:
        drop()
    print(f"one worker, {report['jobs']} jobs, handler waits {args.io_ms:.0f} ms; {harness.machine()}")
    print(f"  worker CPU {report['cpu_ms_per_job']:.2f} ms/job, PostgreSQL backend CPU "
          f"{report['server_cpu_ms_per_job']:.2f} ms/job ({report['backends']} connection(s)), "
          f"wall {report['wall_ms_per_job']:.2f} ms/job")
    for phase in sorted(set(report["phase_cpu_ms_per_job"]) | set(report["statements_per_job"])):
        print(f"  {phase:9s} CPU {report['phase_cpu_ms_per_job'].get(phase, 0):6.2f} ms/job  "
              f"statements {report['statements_per_job'].get(phase, 0):5.1f}/job")
    for phase, kind, n in report["kinds"]:
        print(f"    {phase:9s} {n:5.2f}  {kind}")
    print(f"  workflow cache {report['cache']}; cyclic GC {report['gc']['cpu_ms_per_job']:.3f} ms/job, "
          f"collections {report['gc']['collections']}, thresholds {report['gc']['thresholds']}")
    if "calls_per_job" in report:
        print(f"  Python function calls per job (cProfile): {report['calls_per_job']:.0f}")
        print(report["top"])
        print(report["cumulative"])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], float(sys.argv[4]), "--profile" in sys.argv[5:])
    else:
        main()
