"""A crash-campaign worker process: `python -m tests.reliability.effect_worker --effects FILE --worker-id ID
[--url URL] [--fail-first RATE --seed S]`.

It serves `permit.issue` with the real handler (workers/permits.py) wrapped so that every run is logged and the
permit is recorded as an effect keyed by the job id (tests/reliability/effects.py). With `--fail-first RATE`
a seeded share of jobs raises on its first run (a handler raising: the retry path under kill -9 as well).
Over HTTP with `--url` (bearer token from APPROVALS_WORKERS__TOKEN), else in process on `[database] url`.
Settings come from APPROVALS_CONFIG and the environment; SIGKILL may arrive at any line.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from engine.config import load_settings
from engine.sdk import JobContext, RetryPolicy, TaskRouter, WorkerRunner
from tests.reliability.effects import EffectStore
from workers import permits

router = TaskRouter()


@dataclass(frozen=True)
class Deps:
    effects: EffectStore
    fail_first: float
    seed: int

    def fails_first_run(self, job_id: str) -> bool:
        digest = hashlib.sha256(f"{self.seed}:{job_id}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.fail_first


@router.task("permit.issue", retry=RetryPolicy(retries=3, initial_delay=timedelta(milliseconds=300),
                                               max_delay=timedelta(seconds=1)))
def issue(ctx: JobContext, project: str = "", applicant_code: str = "") -> dict[str, object]:
    deps: Deps = ctx.deps
    deps.effects.called(ctx.job_id, ctx.instance_id, ctx.bpmn_id, ctx.attempt)
    if ctx.failures == 0 and deps.fails_first_run(ctx.job_id):
        raise RuntimeError("injected failure on the first run")
    result = permits.issue(ctx, project=project, applicant_code=applicant_code)  # BpmnError for the blacklisted
    deps.effects.issue(ctx.job_id, ctx.instance_id, ctx.bpmn_id, str(result["permit_no"]))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--effects", type=Path, required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--url", default=None)
    parser.add_argument("--fail-first", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # every task state change otherwise
    deps = Deps(EffectStore(args.effects, args.worker_id), args.fail_first, args.seed)
    WorkerRunner(load_settings(), [router], url=args.url, deps=deps, worker_id=args.worker_id).run()


if __name__ == "__main__":
    main()
