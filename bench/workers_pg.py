"""1 vs 4 worker processes on PostgreSQL, each handler waiting 20 ms on (simulated) I/O: jobs per second.

A generated process with one service task (`bench.io`) is started `--jobs` times (one job each) on a fresh
PostgreSQL database, then K worker processes (this script with --child) claim with SKIP LOCKED and complete the
jobs through the engine's command path (LocalBackend: claim, handler, complete = 2 transactions per job), one
job at a time each. The children start together: each imports the engine, builds its worker and opens its
database connection, says it is ready, and waits until every child is ready before its first fetch, so one
child's interpreter start-up does not run while the others work. Throughput = jobs / (last child's end - first
child's first fetch), from the children's own clocks. Target: 4 workers >= 3x one. Also printed: the workers' own
process CPU per job (all children together over the jobs), which the machine's load inflates less than wall time;
PostgreSQL's CPU comes on top (bench/profile_worker_pg.py measures both and breaks them down).

    .venv/bin/python bench/workers_pg.py [--jobs 200] [--io-ms 20] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness
from engine_throughput import postgres_database

from engine.sdk import LocalBackend, TaskRouter, WorkerRunner

router = TaskRouter()
IO_SECONDS = 0.02


@router.task("bench.io")
def io() -> dict[str, object]:
    time.sleep(IO_SECONDS)  # a remote call: the process waits, the CPU is free
    return {"ok": True}


def child(url: str, var: str, io_ms: float) -> None:
    global IO_SECONDS
    IO_SECONDS = io_ms / 1000
    state = harness.engine_state(url, Path(var))
    worker = WorkerRunner(state.settings, [router], backend=LocalBackend(state), topics=["bench.*"],
                          concurrency=1)
    with state.db_engine.connect():
        pass  # the pool's first connection is start-up, not work
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says go once every child is ready
    started, cpu = time.time(), time.process_time()
    done = worker.run_until_idle()
    cpu = time.process_time() - cpu
    print(json.dumps({"started": started, "ended": time.time(), "jobs": done, "cpu": cpu}), flush=True)
    state.db_engine.dispose()


def batch(url: str, tmp: Path, pid: str, jobs: int, workers: int, io_ms: float) -> tuple[float, float]:
    """(jobs per second, worker CPU milliseconds per job: all children's process CPU over the jobs)."""
    state = harness.engine_state(url, tmp / "var")
    for _ in range(jobs):
        harness.start(state, pid)
    state.db_engine.dispose()
    children = [subprocess.Popen([sys.executable, __file__, "--child", url, str(tmp / "var"), str(io_ms)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    for c in children:
        assert c.stdout is not None and c.stdout.readline().strip() == "ready"
    for c in children:
        assert c.stdin is not None
        c.stdin.write("go\n")
        c.stdin.flush()
    reports = [json.loads(c.communicate(timeout=600)[0].strip().splitlines()[-1]) for c in children]
    assert sum(r["jobs"] for r in reports) == jobs, reports
    rate = jobs / (max(r["ended"] for r in reports) - min(r["started"] for r in reports))
    return rate, sum(r["cpu"] for r in reports) * 1000 / jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--io-ms", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    pg = postgres_database()
    if pg is None:
        return
    url, drop = pg
    rates: dict[int, list[float]] = {1: [], 4: []}
    cpu_ms: dict[int, list[float]] = {1: [], 4: []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            state = harness.engine_state(url, Path(tmp) / "var")
            pid, xml = harness.service_bpmn("bench.io")
            harness.deploy(state, harness.write(Path(tmp), pid, xml))
            state.db_engine.dispose()
            for _ in range(args.runs):
                for workers in (1, 4):
                    rate, cpu = batch(url, Path(tmp), pid, args.jobs, workers, args.io_ms)
                    rates[workers].append(rate)
                    cpu_ms[workers].append(cpu)
    finally:
        drop()
    print(f"PostgreSQL workers, handler waits {args.io_ms:.0f} ms, {args.jobs} jobs per run; {harness.machine()}")
    for workers, values in rates.items():
        print(f"  {workers} worker process(es): {harness.spread(values, 'jobs/s')}")
        print(f"      worker CPU per job: {harness.spread(cpu_ms[workers], 'ms')}")
    print(f"ratio 4 workers / 1: {statistics.median(rates[4]) / statistics.median(rates[1]):.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    else:
        main()
