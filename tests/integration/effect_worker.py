"""A worker process for the multi-process tests: `python -m tests.integration.effect_worker DSN [--stall]`.

Its one handler, `effect.record`, writes a row to `effect_calls` (every call) and an effect to `effects`
keyed by the job id (the idempotency key), so the tests can count effects rather than calls. With `--stall`
the handler logs its call and then hangs before the effect: the process is then killed with SIGKILL while it
holds the job's lock; with `--slow S` each call takes S seconds. Settings (database, lock duration) come from
APPROVALS_CONFIG and the environment.
"""

from __future__ import annotations

import argparse
import logging
import threading
from types import SimpleNamespace

import psycopg

from engine.config import load_settings
from engine.sdk import JobContext, RetryPolicy, TaskRouter, WorkerRunner

router = TaskRouter()

SCHEMA = """
CREATE TABLE IF NOT EXISTS effect_calls (id serial PRIMARY KEY, job_id text NOT NULL, worker text NOT NULL,
                                         at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS effects (id serial PRIMARY KEY, job_id text NOT NULL UNIQUE, n integer NOT NULL,
                                    worker text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
"""


@router.task("effect.record", retry=RetryPolicy(retries=3))
def record(n: int, ctx: JobContext) -> dict[str, object]:
    with psycopg.connect(ctx.deps.dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO effect_calls (job_id, worker) VALUES (%s, %s)", (ctx.job_id, ctx.deps.worker))
        if ctx.deps.stall:
            threading.Event().wait()  # hang while holding the lock, until SIGKILL
        threading.Event().wait(ctx.deps.slow)  # a long-running handler (SIGTERM must let it finish)
        conn.execute("INSERT INTO effects (job_id, n, worker) VALUES (%s, %s, %s) ON CONFLICT (job_id) DO NOTHING",
                     (ctx.job_id, n, ctx.deps.worker))
        row = conn.execute("SELECT id FROM effects WHERE job_id = %s", (ctx.job_id,)).fetchone()
    assert row is not None
    return {"effect_id": row[0], "n": n}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dsn")
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--stall", action="store_true")
    parser.add_argument("--slow", type=float, default=0.0, help="seconds each call takes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    deps = SimpleNamespace(dsn=args.dsn, worker=args.worker_id, stall=args.stall, slow=args.slow)
    WorkerRunner(load_settings(), [router], deps=deps, worker_id=args.worker_id).run()


if __name__ == "__main__":
    main()
