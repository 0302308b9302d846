"""50 simulated clerks completing tasks over HTTP with a 2 s think time: p50/p99 of the completion request.

The server is `approvals serve` (waitress, [server] threads) in its own process on 127.0.0.1, on a SQLite file
(synchronous=FULL) or a fresh PostgreSQL database; identity through the development `X-Actor` header. Before
the clock starts, `--instances` instances of a generated 9-branch fan-out process are started in-process, so
every clerk has its own open tasks (no two clerks race for one task). Then each clerk thread loops for
`--seconds`: think (2 s, jittered +-25% so they do not march in step), POST /api/tasks/<id>/complete, record
the latency. Bounded: at most one request per clerk per think time, and the run stops at the deadline.

    .venv/bin/python bench/clerks_http.py [--clerks 50] [--seconds 60] [--backend sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness
import requests
from engine_throughput import postgres_database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, var: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, APPROVALS_CONFIG=str(harness.ROOT / "config.toml"), APPROVALS_DATABASE__URL=url,
               APPROVALS_SECURITY__DEV_IDENTITY="true", APPROVALS_AUDIT__HMAC_KEY="bench-hmac-key",
               APPROVALS_SECURITY__SECRET_KEY="bench-secret-0123456789", APPROVALS_PATHS__VAR=str(var),
               APPROVALS_SCHEDULER__ENABLED="false", APPROVALS_WORKERS__ENABLED="false")
    server = subprocess.Popen([sys.executable, "-m", "engine", "serve", "--port", str(port)], env=env,
                              cwd=harness.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/tasks?limit=1", headers={"X-Actor": "probe"}, timeout=2)
            return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the server did not start")


def run(backend: str, url: str, tmp: Path, clerks: int, seconds: float, instances: int, think: float) -> None:
    state = harness.engine_state(url, tmp / "var")
    pid, xml = harness.fan_out_bpmn(9)
    harness.deploy(state, harness.write(tmp, pid, xml))
    tasks = []
    for _ in range(instances):
        tasks += harness.open_tasks(state, harness.start(state, pid))
    state.db_engine.dispose()
    random.Random(7).shuffle(tasks)
    port = _free_port()
    server = _serve(url, tmp / "var", port)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def clerk(number: int) -> None:
        http = requests.Session()
        mine = tasks[number::clerks]
        rng = random.Random(number)
        time.sleep(rng.uniform(0, think))  # arrive spread over one think time
        for task_id, bpmn_id in mine:
            if time.monotonic() >= stop_at:
                return
            started = time.perf_counter()
            response = http.post(f"http://127.0.0.1:{port}/api/tasks/{task_id}/complete",
                                 json={"variables": {bpmn_id: "approve"}}, headers={"X-Actor": f"clerk{number}"},
                                 timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                (latencies if response.status_code == 200 else errors).append(
                    elapsed if response.status_code == 200 else f"{response.status_code} {response.text[:120]}")
            time.sleep(think * rng.uniform(0.75, 1.25))

    load_before = os.getloadavg()[0]
    threads = [threading.Thread(target=clerk, args=(n,), daemon=True) for n in range(clerks)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
    finally:
        server.terminate()
        server.wait(timeout=30)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    print(f"{backend:<10} {clerks} clerks, think {think:.0f} s, {seconds:.0f} s: {len(latencies)} completions, "
          f"{len(errors)} errors; p50 {statistics.median(latencies):.1f} ms  p99 {p99:.1f} ms  "
          f"max {latencies[-1]:.1f} ms; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")
    for error in errors[:3]:
        print(f"  error: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=2.0)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    # Enough open tasks that no clerk runs out: one per think time per clerk, 9 per instance, 50% spare.
    instances = int(args.clerks * (args.seconds / (args.think * 0.75) + 1) * 1.5 / 9) + 1
    print(f"machine: {harness.machine()}")
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("SQLite", f"sqlite:///{tmp}/bench.sqlite3", Path(tmp), args.clerks, args.seconds, instances,
                args.think)
    if args.backend in ("postgres", "both"):
        pg = postgres_database()
        if pg is not None:
            url, drop = pg
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    run("PostgreSQL", url, Path(tmp), args.clerks, args.seconds, instances, args.think)
            finally:
                drop()


if __name__ == "__main__":
    main()
