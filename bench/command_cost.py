"""Statements, Python calls and CPU of approval_9's commands on SQLite: start, the intake job's completion (9
reviews and their timers open), a review completion and the permit job's completion.

Load-independent measures of the command path's persistence side: SQL statements per command (a
`before_cursor_execute` listener), Python function calls (cProfile) and process CPU time. Each figure is for the
same command on warm caches (spec and workflow caches hit, as in production): the median over `--instances`
instances (reviews: the 5th and 6th; a job completion without its claim).
Run by hand: .venv/bin/python bench/command_cost.py [--instances 20] [--profile review|job] [--sql] [--postgres]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine_throughput import BPMN, postgres_database
from harness import engine_state

from engine.services import deployments, human_tasks, instances, jobs
from engine.services.commands import run_command

ROOT = Path(__file__).resolve().parent.parent


class Statements:
    def __init__(self) -> None:
        self.active = False
        self.seen: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.active:
            self.seen.append(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--profile", choices=["start", "intake", "review", "job"], help="print cProfile's top functions for it")
    parser.add_argument("--top", type=int, default=40, help="functions printed with --profile")
    parser.add_argument("--callees", help="with --profile: print the callees of functions matching this")
    parser.add_argument("--postgres", action="store_true",
                        help="on a fresh PostgreSQL database (APPROVALS_TEST_POSTGRES_URL) instead of SQLite")
    parser.add_argument("--sql", action="store_true", help="print the statements of the last measured commands")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pg = postgres_database() if args.postgres else None
        if args.postgres and pg is None:
            return
        url = pg[0] if pg else f"sqlite:///{tmp}/cost.sqlite3"
        state = engine_state(url, Path(tmp) / "var")
        run_command(state.sessions, lambda s: deployments.deploy_path(s, state.ctx, BPMN, actor="bench",
                                                                      now=state.clock.now()))
        statements = Statements()
        event.listen(state.db_engine, "before_cursor_execute", statements)
        names = ("start", "intake", "review", "job")
        measured: dict[str, list[tuple[int, int, float]]] = {name: [] for name in names}
        cpu_ms: dict[str, list[float]] = {name: [] for name in names}
        sql: dict[str, list[str]] = {}
        profiles: dict[str, pstats.Stats] = {}

        def measure(name: str, fn: Callable[[], Any], keep: bool, profiled: bool) -> None:
            """Profiled: statements and calls; not profiled: CPU time (cProfile would inflate it ~3x)."""
            profile = cProfile.Profile(time.perf_counter)  # the default timer is coarse here
            statements.seen = []
            statements.active = True
            cpu = time.process_time()
            if profiled:
                profile.enable()
            fn()
            profile.disable()
            cpu = time.process_time() - cpu
            statements.active = False
            if not keep:
                return
            if profiled:
                stats = pstats.Stats(profile)
                calls = sum(s[0] for s in stats.stats.values())  # type: ignore[attr-defined]
                if name in profiles:
                    profiles[name].add(stats)
                else:
                    profiles[name] = stats
                measured[name].append((len(statements.seen), calls, 0.0))
                sql[name] = list(statements.seen)
            else:
                cpu_ms[name].append(cpu * 1000)

        def claimed_job(topic: str) -> Callable[[], Any]:
            """Claim the job (not measured); the returned function completes it."""
            claimed = run_command(state.sessions, lambda s: jobs.claim(
                s, state.ctx, [jobs.TopicRequest(topic, jobs.timedelta(minutes=5))], worker="bench-worker",
                max_jobs=1, now=state.clock.now()))
            assert len(claimed) == 1
            return lambda: run_command(state.sessions, lambda s: jobs.complete(
                s, state.ctx, claimed[0].id, {"permit_no": "x"}, worker="bench-worker", actor="bench-worker",
                now=state.clock.now()))

        for i in range(args.instances + 2):  # two warm-up instances
            keep = i >= 2
            started: list[str] = []
            measure("start", lambda started=started: started.append(run_command(state.sessions, lambda s: (
                instances.start(s, state.ctx, "approval_9", {}, actor="bench", now=state.clock.now()))).id), keep,
                profiled=i % 2 == 0)
            instance_id = started[0]
            measure("intake", claimed_job("bench.intake"), keep, profiled=i % 2 == 0)
            with state.sessions() as session:
                tasks = human_tasks.list_tasks(session, instance_id=instance_id)
            for n, task in enumerate(tasks):
                def complete(t: Any = task) -> None:
                    run_command(state.sessions, lambda s: human_tasks.complete(
                        s, state.ctx, t.id, {t.bpmn_id: "approve"}, actor="clerk", now=state.clock.now()))
                if n in (4, 5):
                    measure("review", complete, keep, profiled=n == 4)
                else:
                    complete()
            measure("job", claimed_job("bench.issue_permit"), keep, profiled=i % 2 == 0)
            with state.sessions() as session:
                assert instances.get_instance(session, instance_id).status == "completed"
        state.db_engine.dispose()
        if pg:
            pg[1]()
    for name, values in measured.items():
        print(f"{name:<7} statements {statistics.median(v[0] for v in values):5.0f}   "
              f"calls {statistics.median(v[1] for v in values):7.0f}   "
              f"CPU {statistics.median(cpu_ms[name]):6.2f} ms (min {min(cpu_ms[name]):.2f}, not profiled)   "
              f"n={len(values)}/{len(cpu_ms[name])}")
        kinds = Counter(s.split()[0].upper() for s in sql[name])
        print("        " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
        if args.sql:
            for statement in sql[name]:
                print("          " + " ".join(statement.split())[:150])
    if args.profile:
        if args.callees:
            profiles[args.profile].sort_stats("cumulative").print_callees(args.callees)
        else:
            profiles[args.profile].sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
