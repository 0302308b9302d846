"""Sandboxed expression evaluation vs stock SpiffWorkflow's eval, measured in the same run.

Run by hand: .venv/bin/python bench/expressions.py
"""

from __future__ import annotations

import statistics
import timeit

from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine.bpmn.script_env import SandboxEnvironment

CASES = {
    "condition": ("amount > 1000 and region == 'A'", "eval"),
    "len": ("len(items) > 0", "eval"),
    "script": ("total = 0\nfor x in items:\n    total += x\nbig = total > 5\n", "exec"),
}


def main() -> None:
    context = {"amount": 2000, "region": "A", "items": [1, 2, 3], **{f"field_{i}": i for i in range(30)}}
    ours, stock = SandboxEnvironment(), TaskDataEnvironment()
    print(f"{'case':<10} {'ours µs (med/min/max)':>26} {'stock µs (med/min/max)':>26} {'stock/ours':>10}")
    for name, (text, mode) in CASES.items():
        def run(env, text=text, mode=mode):  # type: ignore[no-untyped-def]
            if mode == "eval":
                return lambda: env.evaluate(text, context)
            return lambda: env.execute(text, dict(context))

        n = 2000
        a = [t / n * 1e6 for t in timeit.repeat(run(ours), number=n, repeat=7)]
        b = [t / n * 1e6 for t in timeit.repeat(run(stock), number=n, repeat=7)]
        fmt = lambda xs: f"{statistics.median(xs):7.2f}/{min(xs):6.2f}/{max(xs):6.2f}"  # noqa: E731
        print(f"{name:<10} {fmt(a):>26} {fmt(b):>26} {statistics.median(b) / statistics.median(a):>9.1f}x")


if __name__ == "__main__":
    main()
