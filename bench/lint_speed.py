"""How long `approvals lint` takes on processes/ (it runs on every deploy; the target is well under 2 s).

    .venv/bin/python bench/lint_speed.py [--repeat N] [PATH …]

Prints, per file and in total, the median wall time of `lint()` in a warm process (what deploy pays), and the
wall time of one cold `approvals lint --strict` command (interpreter start and imports included).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from engine.bpmn.lint import LintContext, lint, load_departments
from engine.cli_lint import known_topics

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, default=sorted((ROOT / "processes").glob("*.bpmn")))
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    context = LintContext(forms_dir=ROOT / "forms", departments=load_departments(ROOT / "processes" / "departments.toml"),
                          topics=known_topics)
    files = [(path, path.read_bytes()) for path in args.paths]
    for path, data in files:  # warm caches (imports, XSD, sandbox compile cache) once, as a running server has
        lint(data, file=path.name, context=context)
    totals = []
    per_file: dict[Path, list[float]] = {path: [] for path, _ in files}
    for _ in range(args.repeat):
        started = time.perf_counter()
        for path, data in files:
            t0 = time.perf_counter()
            lint(data, file=path.name, context=context)
            per_file[path].append(time.perf_counter() - t0)
        totals.append(time.perf_counter() - started)
    for path, times in per_file.items():
        print(f"{path.name:<40} {len(path.read_bytes()) // 1024:>4} KB  median {statistics.median(times) * 1000:7.1f} ms"
              f"  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")
    print(f"{'all ' + str(len(files)) + ' file(s), warm':<48}  median {statistics.median(totals) * 1000:7.1f} ms"
          f"  (min {min(totals) * 1000:.1f}, max {max(totals) * 1000:.1f})")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "engine", "lint", "--strict", *map(str, args.paths)], cwd=ROOT,
                   capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"{'cold `approvals lint --strict` (one run)':<48}  {wall * 1000:7.1f} ms wall, {cpu * 1000:.0f} ms CPU "
          "(mostly importing the CLI)")


if __name__ == "__main__":
    main()
