"""Replay and verification cost: N sample_review projects (start + 3 reviews each), then `replay --all --verify`
and `audit verify`, against the cost of running the same commands in the first place.

Run by hand: .venv/bin/python bench/replay_speed.py [--projects 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from engine.app_state import build_state
from engine.clock import SimulatedClock
from engine.config import load_settings
from engine.db import Base
from engine.services import deployments, history, human_tasks, instances
from engine.services.commands import run_command
from engine.services.replay import Replayer

ROOT = Path(__file__).resolve().parent.parent
REVIEWS = ("review_land", "review_design", "review_fire")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=100)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    settings = load_settings(ROOT / "config.toml", environ={}, overrides={
        "database": {"url": f"sqlite:///{tmp}/bench.sqlite3"},
        "paths": {"processes": str(ROOT / "processes"), "forms": str(ROOT / "forms"), "var": str(tmp)},
        "audit": {"hmac_key": "bench"}, "scheduler": {"enabled": False}, "workers": {"enabled": False}})
    clock = SimulatedClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))
    state = build_state(settings, clock)
    Base.metadata.create_all(state.db_engine)
    ctx = state.ctx
    run_command(state.sessions, lambda s: deployments.deploy_path(s, ctx, ROOT / "processes" / "sample_review.bpmn",
                                                                  actor="bench", now=clock.now()))
    started = time.perf_counter()
    for n in range(args.projects):
        out = run_command(state.sessions, lambda s, n=n: instances.start(
            s, ctx, "sample_review", {"project": f"项目{n}"}, actor="window", now=clock.now(), business_key=f"P-{n}"))
        for bpmn_id in REVIEWS:
            clock.advance(timedelta(minutes=30))
            with state.sessions() as session:
                task = next(t for t in human_tasks.list_tasks(session, instance_id=out.id) if t.bpmn_id == bpmn_id)
            run_command(state.sessions, lambda s, t=task: human_tasks.complete(
                s, ctx, t.id, {"decision": "approve", "opinion": "同意"}, actor="clerk", now=clock.now()))
    ran = time.perf_counter() - started
    with state.sessions() as session:
        started = time.perf_counter()
        with Replayer(session, ctx) as replayer:
            reports = list(replayer.replay_all(verify=True))
        replayed = time.perf_counter() - started
        started = time.perf_counter()
        problems = history.verify_all(session, ctx.hmac_key)
        verified = time.perf_counter() - started
    events = sum(r.last_seq for r in reports)
    print(f"{args.projects} projects, {events} events, 4 commands each")
    print(f"  running the commands:     {ran:6.2f} s  ({ran / args.projects * 1000:5.1f} ms/project)")
    print(f"  replay --all --verify:    {replayed:6.2f} s  ({replayed / args.projects * 1000:5.1f} ms/project), "
          f"{sum(r.ok for r in reports)}/{len(reports)} identical")
    print(f"  audit verify (all chains): {verified:5.2f} s  ({verified / max(events, 1) * 1e6:5.1f} µs/event), "
          f"{len(problems)} problems")


if __name__ == "__main__":
    main()
