"""First vs last command of a 200-task instance: is the cost of a command flat in the instance's length?

A generated process of 200 user tasks in sequence. Ours: each task completed by `human_tasks.complete` in its
own transaction (SQLite file, synchronous as given, default FULL); the time of the first and the last
completion of each instance, and the state size before the last one; the baseline is the first command, measured
on the same instances (no stock run: the question is ours growing with length). Target: median last / median
first <= 1.5. The last command also completes the instance (end event, end join, instance events), so the
medians of commands 2-11 and of the ten before the last are printed too: their ratio is the growth with length
alone.

    .venv/bin/python bench/long_instance.py [--runs 5] [--tasks 200] [--synchronous FULL|NORMAL]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import harness

from engine.models import ProcessInstance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="instances")
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    first: list[float] = []
    last: list[float] = []
    first_cpu: list[float] = []
    last_cpu: list[float] = []
    sizes: list[int] = []
    early: list[float] = []  # commands 2-11 of each instance (wall ms)
    late: list[float] = []  # the ten before the last (the last one also ends the instance)
    with tempfile.TemporaryDirectory() as tmp:
        state = harness.engine_state(f"sqlite:///{tmp}/bench.sqlite3", Path(tmp) / "var", args.synchronous)
        pid, xml = harness.sequence_bpmn(args.tasks)
        harness.deploy(state, harness.write(Path(tmp), pid, xml))
        try:
            for _ in range(args.runs):
                instance_id = harness.start(state, pid)
                for step in range(1, args.tasks + 1):
                    [(task_id, bpmn_id)] = harness.open_tasks(state, instance_id)
                    if step == args.tasks:
                        with state.sessions() as session:
                            sizes.append(len(session.get(ProcessInstance, instance_id).state_json))
                    cpu = time.process_time()
                    wall = harness.timed(lambda t=task_id, b=bpmn_id: harness.complete(state, t, b))
                    cpu = (time.process_time() - cpu) * 1000
                    if 2 <= step <= 11:
                        early.append(wall)
                    elif args.tasks - 10 <= step < args.tasks:
                        late.append(wall)
                    if step == 1:
                        first.append(wall)
                        first_cpu.append(cpu)
                    elif step == args.tasks:
                        last.append(wall)
                        last_cpu.append(cpu)
        finally:
            state.db_engine.dispose()
    print(f"{args.tasks}-task sequence, one command per task (SQLite synchronous={args.synchronous}); "
          f"{harness.machine()}")
    print(f"  first command  {harness.spread(first)}  CPU median {statistics.median(first_cpu):.2f} ms")
    print(f"  last command   {harness.spread(last)}  CPU median {statistics.median(last_cpu):.2f} ms")
    print(f"  state before the last command: {statistics.median(sizes) / 1024:.0f} KiB")
    print(f"  commands 2-11  {harness.spread(early)}")
    print(f"  the 10 before the last {harness.spread(late)}  (the last command also ends the instance)")
    print(f"  steady ratio (10 before the last / commands 2-11): {statistics.median(late) / statistics.median(early):.2f}")
    print(f"ratio last / first: wall {statistics.median(last) / statistics.median(first):.2f}, CPU "
          f"{statistics.median(last_cpu) / statistics.median(first_cpu):.2f}")


if __name__ == "__main__":
    main()
