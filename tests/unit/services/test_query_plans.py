"""SQLite's plans for the command path's statements (issue 14): a read by instance must search an index on the
instance, not walk every instance's rows.

SQLite has no statistics on these databases (nothing runs ANALYZE), so its planner picks an index by shape alone:
the waiting-timer read (instance and status, ordered by due time) took the (status, due_at) index, which avoids a
sort but walks every waiting timer of every instance — a sixth of `simulate --projects 1000`, growing with the
number of running projects, invisible in a small database. Every statement here ran for real; each plan is
SQLite's own (EXPLAIN QUERY PLAN) on the engine's migrated file."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event

from engine.dto import DefinitionOut
from engine.services import human_tasks, instances, jobs, timers
from engine.services.commands import run_command
from tests.conftest import engine_state
from tests.unit.services.test_command_statements import APPROVAL_9, router

# "instance_id = ?" in a WHERE clause (a column of the statement's table, qualified or not).
_BY_INSTANCE = re.compile(r"\bWHERE\b.*\binstance_id = \?", re.DOTALL)


def _plan(app: Flask, statement: str, parameters: Any) -> list[str]:
    connection = engine_state(app).db_engine.raw_connection()
    try:
        return [row[3] for row in connection.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters)]
    finally:
        connection.close()


def _run_approval_9(app: Flask, run_jobs: Callable[..., int]) -> dict[str, Any]:
    """Two instances through intake, every review, the permit job and a timer tick; each distinct statement
    with the parameters it first ran with."""
    state = engine_state(app)
    seen: dict[str, Any] = {}

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        if not executemany:
            seen.setdefault(statement, parameters)

    event.listen(state.db_engine, "before_cursor_execute", grab)
    try:
        started = [run_command(state.sessions, lambda s: instances.start(
            s, state.ctx, "approval_9", {}, actor="window", now=state.clock.now())).id for _ in range(2)]
        assert run_jobs(router) == 2  # intake
        for instance_id in started:
            with state.sessions() as session:
                tasks = [(t.id, t.bpmn_id) for t in human_tasks.list_tasks(session, instance_id=instance_id)]
            assert len(tasks) == 9
            for task_id, bpmn_id in tasks:
                run_command(state.sessions, lambda s, t=task_id, b=bpmn_id: human_tasks.complete(
                    s, state.ctx, t, {b: "approve"}, actor="clerk", now=state.clock.now()))
        claimed = run_command(state.sessions, lambda s: jobs.claim(
            s, state.ctx, [jobs.TopicRequest("bench.*", timedelta(minutes=5))], worker="w", max_jobs=1,
            now=state.clock.now()))
        run_command(state.sessions, lambda s: jobs.complete(s, state.ctx, claimed[0].id, {"permit_no": "1"},
                                                            worker="w", actor="w", now=state.clock.now()))
        timers.fire_due(state.sessions, state.ctx, state.clock.now())
    finally:
        event.remove(state.db_engine, "before_cursor_execute", grab)
    return seen


def test_reads_by_instance_search_an_index_on_the_instance(app: Flask, deploy: Callable[..., DefinitionOut],
                                                          run_jobs: Callable[..., int]) -> None:
    deploy(APPROVAL_9)
    seen = _run_approval_9(app, run_jobs)
    checked, wrong = 0, []
    for statement, parameters in seen.items():
        if not statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            continue
        if not _BY_INSTANCE.search(statement):
            continue
        plan = _plan(app, statement, parameters)
        checked += 1
        # The instance's own rows: an index constrained on instance_id, or a row's primary key.
        if not any("instance_id=?" in line or "(id=?)" in line for line in plan):
            wrong.append(f"{' '.join(statement.split())}\n    {plan}")
    assert checked >= 3  # the waiting timers, open tasks and open jobs at least
    assert wrong == [], "\n".join(wrong)


def test_the_waiting_timer_read_uses_the_instance_index(app: Flask, deploy: Callable[..., DefinitionOut],
                                                        run_jobs: Callable[..., int]) -> None:
    from engine.services.execution import _WAITING_TIMERS

    deploy(APPROVAL_9)
    seen = _run_approval_9(app, run_jobs)
    text = str(_WAITING_TIMERS.compile(engine_state(app).db_engine))
    assert text in seen  # the command path ran it
    plan = _plan(app, text, seen[text])
    assert any("ix_timers_instance_id_status_due_at (instance_id=? AND status=?)" in line for line in plan), plan
