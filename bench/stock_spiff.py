"""Stock SpiffWorkflow 3.2 in memory: the baseline every bench/ script compares against, in its own process.

It imports SpiffWorkflow only, never `engine`: the engine patches SpiffWorkflow hot paths when `engine.bpmn` is
imported (engine/bpmn/fast_scan.py), and a baseline measured in the same interpreter would be patched too.

An instance: start, step the engine, then repeatedly complete every ready manual task with
`{bpmn_id: "approve"}` and step again until the workflow completes. Service tasks answer through
`call_service` (Spiff's extension point). Stock timers evaluate their text as Python, so bare ISO literals
(`P5D`) are quoted first (the adapter DESIGN.md §5 mentions).

    python bench/stock_spiff.py FILE.bpmn PROCESS_ID --serve    # reads N per line, answers "rate cpu_ms"
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_ISO_LITERAL = re.compile(r">(P(?:\d+[YMWD])*(?:T(?:\d+[HMS])+)?)<")


def runner(path: Path, process_id: str) -> Callable[[int], tuple[float, float]]:
    """A function running N instances, returning (instances per second, CPU ms per instance)."""
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    class ServiceAnswers(PythonScriptEngine):
        def call_service(self, task: Any, operation_name: str, operation_params: dict[str, Any]) -> str:
            return json.dumps({"operation": operation_name, "ok": True})

    xml = _ISO_LITERAL.sub(r'>"\1"<', path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        copy.write_text(xml, encoding="utf-8")
        parser = SpiffBpmnParser()
        parser.add_bpmn_file(str(copy))
        spec, subprocess_specs = parser.get_spec(process_id), parser.get_subprocess_specs(process_id)
    engine = ServiceAnswers()

    def run(n: int) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
            workflow.do_engine_steps()
            while not workflow.is_completed():
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                assert ready, "stock instance is stuck"
                for task in ready:
                    task.data[task.task_spec.bpmn_id] = "approve"
                    task.run()
                    workflow.do_engine_steps()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        return n / wall, cpu / n * 1000

    return run


class StockProcess:
    """The baseline in a child interpreter; `run(n)` asks it for N instances (same signature as `runner`)."""

    def __init__(self, path: Path, process_id: str) -> None:
        self._child = subprocess.Popen([sys.executable, __file__, str(path), process_id, "--serve"],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, n: int) -> tuple[float, float]:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(f"{n}\n")
        self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError("the stock SpiffWorkflow process died")
        rate, cpu_ms = line.split()
        return float(rate), float(cpu_ms)

    def close(self) -> None:
        if self._child.stdin is not None:
            self._child.stdin.close()
        self._child.wait(timeout=30)


def _serve(path: Path, process_id: str) -> None:
    assert "engine" not in sys.modules
    run = runner(path, process_id)
    for line in sys.stdin:
        rate, cpu_ms = run(int(line))
        print(f"{rate} {cpu_ms}", flush=True)


if __name__ == "__main__":
    _serve(Path(sys.argv[1]), sys.argv[2])
