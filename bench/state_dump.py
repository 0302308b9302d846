"""CPU of the state dump per command: the full dump against the incremental one (engine/bpmn/incremental_dump.py).

- approval_9: the persisted command path on SQLite (bench/engine_throughput.py's runner), the same process
  alternating rounds with every dump full and with the incremental dump; CPU ms of the dump per command and per
  instance, and of the whole instance (medians of the rounds, min and max).
- Hohhot: `approvals simulate --projects N` in this process with every dump made both ways (the texts must be equal:
  the run stops otherwise); CPU ms per dump of each (the first dump of a workflow object separately).
- `--against DIR`: in the Hohhot run, also the incremental dump of DIR's engine/bpmn/incremental_dump.py (a worktree
  of an earlier commit) on every dump, in alternating order with this tree's; CPU ms per dump of each.
Process CPU time throughout (a loaded machine inflates it less than wall time); the load average is printed.
Run by hand: .venv/bin/python bench/state_dump.py [--instances 10] [--rounds 5] [--projects 5] [--against DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine.bpmn import incremental_dump, serialization
from engine.services import execution, instances

Dump = Callable[[object], str]


def _use(dump: Dump) -> None:
    execution.dump_workflow = instances.dump_workflow = dump  # type: ignore[assignment]


def approval_9(n: int, rounds: int) -> None:
    import engine_throughput

    var = Path(tempfile.mkdtemp())
    run, _state = engine_throughput.persisted_runner(f"sqlite:///{var}/bench.sqlite3", var)
    spent = {"cpu": 0.0, "dumps": 0}

    def timed(dump: Dump) -> Dump:
        def wrapped(workflow: object) -> str:
            started = time.process_time()
            try:
                return dump(workflow)
            finally:
                spent["cpu"] += time.process_time() - started
                spent["dumps"] += 1
        return wrapped

    modes = {"full": timed(serialization.full_dump), "incremental": timed(serialization.dump_workflow)}
    run(3)
    rows: dict[str, list[tuple[float, float, float]]] = {mode: [] for mode in modes}
    for _ in range(rounds):
        for mode, dump in modes.items():
            _use(dump)
            run(1)  # the cached workflow objects of this mode
            spent.update(cpu=0.0, dumps=0)
            _rate, cpu = run(n)
            rows[mode].append((spent["cpu"] / spent["dumps"] * 1000, spent["cpu"] / n * 1000, cpu))
    print(f"approval_9 persisted (SQLite FULL), {n} instances x {rounds} rounds per mode, alternated; "
          f"load average {os.getloadavg()[0]:.1f}")
    for mode, values in rows.items():
        per_command = [v[0] for v in values]
        whole = [v[2] for v in values]
        print(f"  {mode:12s} dump {statistics.median(per_command):.3f} ms/command (min {min(per_command):.3f}), "
              f"{statistics.median(v[1] for v in values):.1f} ms/instance; instance CPU {statistics.median(whole):.1f}"
              f" ms (min {min(whole):.1f} max {max(whole):.1f})")


def _incremental_of(tree: Path) -> Dump:
    """The incremental dump as another tree's module builds it (its own kept fragments)."""
    from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

    spec = importlib.util.spec_from_file_location("incremental_dump_against", tree / "engine/bpmn/incremental_dump.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = getattr(module, "_MemoTable", None)  # trees since 9b06eb1 keep the memo on the workflow object:
    if table is not None:  # under its own name, or the two dumps would overwrite each other's memo
        table._SLOT = "_engine_incremental_dump_against"
    dumper = module.IncrementalDump(serialization._FAST, BpmnWorkflowSerializer.VERSION_KEY)
    return lambda workflow: dumper.dump_text(workflow, serialization.SERIALIZER_VERSION)


def hohhot(projects: int, against: Path | None) -> None:
    from engine.cli import main

    totals = {"first": [0, 0.0, 0.0, 0.0], "later": [0, 0.0, 0.0, 0.0]}
    other = _incremental_of(against) if against is not None else None

    def both(workflow: object) -> str:
        kind = "first" if incremental_dump._MEMOS.get(workflow) is None else "later"  # type: ignore[arg-type]
        count = totals[kind][0]
        if other is not None and count % 2:  # the other tree's first every second dump
            started = time.process_time()
            other_text = other(workflow)
            totals[kind][3] += time.process_time() - started
        started = time.process_time()
        text = serialization.dump_workflow(workflow)  # type: ignore[arg-type]
        middle = time.process_time()
        full = serialization.full_dump(workflow)  # type: ignore[arg-type]
        totals[kind][0] += 1
        totals[kind][1] += middle - started
        totals[kind][2] += time.process_time() - middle
        if other is not None and not count % 2:
            started = time.process_time()
            other_text = other(workflow)
            totals[kind][3] += time.process_time() - started
        if text != full or (other is not None and other_text != full):
            raise AssertionError("an incremental dump differs from the full dump")
        return text

    _use(both)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # its own report
        main(["simulate", "--projects", str(projects)], standalone_mode=False)
    print(f"Hohhot simulate --projects {projects}: every dump equal to the full dump; load average "
          f"{os.getloadavg()[0]:.1f}; fallbacks {serialization._INCREMENTAL.fallbacks}")
    for kind, (count, incremental, full, earlier) in totals.items():
        if count:
            print(f"  {kind:5s} dumps of an object: {count:4d}, incremental {incremental / count * 1000:.3f} ms, "
                  f"full {full / count * 1000:.3f} ms per dump"
                  + (f", {against}'s incremental {earlier / count * 1000:.3f} ms" if against is not None else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--against", type=Path, help="a tree whose incremental dump runs beside this one's")
    parser.add_argument("--hohhot-only", action="store_true")
    args = parser.parse_args()
    if not args.hohhot_only:
        approval_9(args.instances, args.rounds)
    hohhot(args.projects, args.against)


if __name__ == "__main__":
    main()
