"""One scheduler tick with nothing due, at 1k / 10k / 100k waiting instances: must be < 5 ms median and flat.

A tick is `services.timers.fire_due` (open a session, one indexed range query on (status, due_at) joined to running
instances, nothing to fire). Instances and their timer rows are inserted directly for speed; every timer is due
in the future (1–30 days), so the tick finds nothing. SQLite by default (embedded mode); pass a PostgreSQL URL
to measure that instead.

Run by hand: .venv/bin/python bench/timer_tick.py [--url postgresql+psycopg://…] [--ticks 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from engine.app_state import build_state
from engine.clock import SimulatedClock
from engine.config import load_settings
from engine.db import Base
from engine.models import InstanceStatus, ProcessInstance, Timer, TimerStatus
from engine.services import deployments, timers
from engine.services.commands import run_command

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
SIZES = (1_000, 10_000, 100_000)


def _fill(state, definition_id: int, have: int, want: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(want)
    for start in range(have, want, 5_000):
        instances, rows = [], []
        for _ in range(start, min(want, start + 5_000)):
            instance_id = str(uuid.uuid4())
            instances.append({"id": instance_id, "definition_id": definition_id, "process_key": "timer_then_script",
                              "business_key": None, "status": InstanceStatus.RUNNING, "state_json": "{}",
                              "serializer_version": "1", "lock_version": 1, "started_at": NOW,
                              "started_by": "bench", "ended_at": None, "updated_at": NOW})
            rows.append({"id": str(uuid.uuid4()), "instance_id": instance_id, "spiff_task_id": str(uuid.uuid4()),
                         "bpmn_id": "deemed_review", "due_at": NOW + timedelta(seconds=rng.randint(86_400,
                                                                                                   30 * 86_400)),
                         "calendar": "workday", "provisional": False, "status": TimerStatus.WAITING,
                         "created_at": NOW, "fired_at": None, "pausable": True, "paused_on": None, "basis": None})
        with state.sessions.begin() as session:
            session.execute(insert(ProcessInstance), instances)
            session.execute(insert(Timer), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--ticks", type=int, default=200, help="ticks measured per size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{tmp}/bench.sqlite3"
        settings = load_settings(ROOT / "config.toml", environ={}, overrides={
            "database": {"url": url}, "audit": {"hmac_key": "bench"}, "paths": {"var": tmp}})
        state = build_state(settings, SimulatedClock(NOW))
        Base.metadata.drop_all(state.db_engine)
        Base.metadata.create_all(state.db_engine)
        definition = run_command(state.sessions, lambda s: deployments.deploy_path(
            s, state.ctx, ROOT / "tests" / "data" / "bpmn" / "timer_then_script.bpmn", actor="bench", now=NOW))
        print(f"database: {state.db_engine.dialect.name}; one tick = fire_due(batch=100), nothing due")
        print(f"{'waiting':>8} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
        have = 0
        for size in SIZES:
            _fill(state, definition.id, have, size)
            have = size
            with state.db_engine.connect() as conn:  # fresh planner statistics after a bulk insert
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
            for _ in range(10):  # warm the connection pool and the page cache
                timers.fire_due(state.sessions, state.ctx, NOW, 100)
            samples = []
            for _ in range(args.ticks):
                began = time.perf_counter()
                report = timers.fire_due(state.sessions, state.ctx, NOW, 100)
                samples.append((time.perf_counter() - began) * 1000)
                assert report.candidates == 0
            print(f"{size:>8} {statistics.median(samples):>10.3f} {min(samples):>8.3f} {max(samples):>8.3f}")
        state.db_engine.dispose()


if __name__ == "__main__":
    main()
