"""Race campaigns (DESIGN.md §3.1, §3.2), shared by the SQLite and PostgreSQL test modules.

- Double completion: two clerks complete the same review at the same moment (through /api, or one through
  /engine-rest): exactly one wins, the other is told the task is no longer open, one `task:completed`.
- Complete vs deadline: a clerk completes a review one second before its deemed-approval deadline while the
  scheduler fires that deadline (its tick at the due instant): exactly one wins; the task ends completed or
  cancelled, never both, and the instance finishes once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select

from engine.models import HumanTask, HumanTaskStatus, InstanceEvent, InstanceStatus, ProcessInstance, Timer
from engine.services import instances, timers
from engine.services.commands import is_retryable, run_command
from tests.conftest import DATA, Auth, engine_state

APPROVE = {"decision": "approve", "opinion": "同意"}
CAMUNDA_APPROVE = {"variables": {"decision": {"value": "approve", "type": "String"},
                                 "opinion": {"value": "同意", "type": "String"}}}
PARALLEL_RACES = 4  # races in flight at once (each is two threads meeting at a barrier)


@dataclass
class RaceFigures:
    races: int = 0
    winners: Counter[str] = field(default_factory=Counter)  # who won: "api", "engine-rest", "clerk", "deadline"
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def won(self, by: str) -> None:
        with self.lock:
            self.races += 1
            self.winners[by] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def _together(*calls: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 (reported as the race's outcome)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _start_many(app: Flask, key: str, n: int) -> list[str]:
    state = engine_state(app)
    now = state.clock.now()
    return [run_command(state.sessions, lambda s, i=i: instances.start(
        s, state.ctx, key, {"race": i}, actor="window", now=now)).id for i in range(n)]


def _open_task(app: Flask, instance_id: str, bpmn_id: str) -> HumanTask:
    with engine_state(app).sessions() as session:
        return session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                       HumanTask.bpmn_id == bpmn_id)).one()


def _kinds_by_task(app: Flask, instance_id: str) -> dict[str, Counter[str]]:
    with engine_state(app).sessions() as session:
        events = session.scalars(select(InstanceEvent).where(InstanceEvent.chain == instance_id))
        by_task: dict[str, Counter[str]] = {}
        for e in events:
            if e.kind.startswith("task:") and "task_id" in e.payload:
                by_task.setdefault(e.payload["task_id"], Counter())[e.kind] += 1
            if e.kind == "timer:fired":
                by_task.setdefault("timers", Counter())[e.kind] += 1
    return by_task


def double_completions(app: Flask, auth: Auth, n: int) -> RaceFigures:
    """n races of two completions of one task; every third race mixes /api and /engine-rest."""
    clerks = [auth.headers(name, "clerk", departments=["nrp", "hc"]) for name in ("race-a", "race-b")]
    figures = RaceFigures()
    ids = _start_many(app, "sample_review", n)

    def race(i: int, instance_id: str) -> None:
        task = _open_task(app, instance_id, "review_land")
        client = app.test_client()
        via = ["api", "engine-rest" if i % 3 == 0 else "api"]

        def complete(k: int) -> Callable[[], int]:
            if via[k] == "engine-rest":
                return lambda: client.post(f"/engine-rest/task/{task.id}/complete", json=CAMUNDA_APPROVE,
                                           headers=clerks[k]).status_code
            return lambda: client.post(f"/api/tasks/{task.id}/complete", json={"variables": APPROVE},
                                       headers=clerks[k]).status_code

        statuses = _together(complete(0), complete(1))
        winners = [k for k, s in enumerate(statuses) if s in (200, 204)]
        losers = [k for k, s in enumerate(statuses) if s == (404 if via[k] == "engine-rest" else 409)]
        kinds = _kinds_by_task(app, instance_id)[task.id]
        if len(winners) != 1 or len(losers) != 1 or kinds["task:completed"] != 1 or kinds["task:cancelled"]:
            figures.problem(f"race {i}: statuses {statuses} via {via}, events {dict(kinds)}")
            return
        figures.won(via[winners[0]])

    with ThreadPoolExecutor(PARALLEL_RACES) as pool:
        list(pool.map(lambda args: race(*args), enumerate(ids)))
    return figures


def complete_vs_deadline(app: Flask, auth: Auth, n: int) -> RaceFigures:
    """n races of a completion (at due - 1 s) against the scheduler firing the deadline (at due)."""
    state = engine_state(app)
    clerk = auth.headers("race-hc", "clerk", departments=["hc"])
    figures = RaceFigures()
    ids = _start_many(app, "timer_deemed_review", n)
    with state.sessions() as session:
        due = {t.instance_id: (t.id, t.due_at) for t in session.scalars(select(Timer).where(
            Timer.instance_id.in_(ids)))}
    first_due = min(d for _t, d in due.values())
    state.clock.set(first_due - timedelta(seconds=1))  # every completion is legal at its own instant

    def tick(timer_id: str, at: Any) -> str:
        try:
            with state.sessions.begin() as session:
                return "fired" if timers.fire_one(session, state.ctx, timer_id, at) else "skipped"
        except Exception as exc:
            if is_retryable(exc):
                return "skipped"  # the clerk's command held the instance: the next tick decides
            raise

    def race(i: int, instance_id: str) -> None:
        task = _open_task(app, instance_id, "review_fire")
        timer_id, due_at = due[instance_id]
        client = app.test_client()
        status, ticked = _together(
            lambda: client.post(f"/api/tasks/{task.id}/complete", json={"variables": {}}, headers=clerk).status_code,
            lambda: tick(timer_id, due_at))
        tick(timer_id, due_at + timedelta(days=1))  # a later tick settles a skipped firing
        with state.sessions() as session:
            row = session.get(HumanTask, task.id)
            instance = session.get(ProcessInstance, instance_id)
            assert row is not None and instance is not None
            task_status, instance_status = row.status, instance.status
        kinds = _kinds_by_task(app, instance_id)
        task_kinds, fired = kinds.get(task.id, Counter()), kinds.get("timers", Counter())["timer:fired"]
        clerk_won = status == 200 and task_status == HumanTaskStatus.COMPLETED and fired == 0 \
            and task_kinds["task:completed"] == 1 and not task_kinds["task:cancelled"]
        deadline_won = status == 409 and task_status == HumanTaskStatus.CANCELLED and fired == 1 \
            and task_kinds["task:cancelled"] == 1 and not task_kinds["task:completed"]
        if clerk_won == deadline_won or instance_status != InstanceStatus.COMPLETED:
            figures.problem(f"race {i}: HTTP {status}, tick {ticked}, task {task_status}, fired {fired}, "
                            f"events {dict(task_kinds)}, instance {instance_status}")
            return
        figures.won("clerk" if clerk_won else "deadline")

    with ThreadPoolExecutor(PARALLEL_RACES) as pool:
        list(pool.map(lambda args: race(*args), enumerate(ids)))
    return figures


def deploy_race_processes(deploy: Callable[..., Any]) -> None:
    deploy("sample_review")
    deploy(DATA / "bpmn" / "timer_deemed_review.bpmn")
