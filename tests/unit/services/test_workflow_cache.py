"""The workflow cache: commands reuse the object the last command left, and behave exactly as with a reload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from engine.bpmn import runtime
from engine.bpmn.canonical import canonical_state
from engine.bpmn.serialization import load_workflow
from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from engine.errors import FormInvalid
from engine.models import HumanTask, ProcessDefinition, ProcessInstance, Timer
from engine.services import history, instances, timers
from engine.services.commands import run_command
from engine.services.execution import KnownRowsMismatch, load, lock_instance, persist
from engine.services.workflow_cache import WorkflowCache
from tests.audit_support import APPROVE, complete, start
from tests.conftest import DATA, engine_state

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TIMERS = DATA / "bpmn"


def _scenario(app: Flask, clock: SimulatedClock) -> str:
    """Start, then the three reviews by clerks."""
    clock.set(T0)
    instance_id = start(app, "sample_review", {"project": "呼和浩特示范项目"})
    for bpmn_id in ("review_land", "review_design", "review_fire"):
        clock.advance(timedelta(hours=3))
        complete(app, instance_id, bpmn_id, APPROVE, actor=f"clerk.{bpmn_id}")
    return instance_id


def _outcome(app: Flask, instance_id: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    state = engine_state(app)
    with state.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        parsed = state.ctx.specs.get(session.get(ProcessDefinition, instance.definition_id))
        stored = canonical_state(load_workflow(instance.state_json, parsed.spec, parsed.subprocess_specs))
        kinds = [(e.kind, e.actor) for e in history.list_events(session, instance_id)]
    return stored, kinds


def test_commands_reuse_the_workflow_and_end_as_with_reloads(app: Flask, deploy: Callable[..., DefinitionOut],
                                                             clock: SimulatedClock) -> None:
    deploy("sample_review")
    cache = engine_state(app).ctx.workflows
    cached = _scenario(app, clock)
    assert (cache.hits, cache.misses) == (3, 0)  # every command after start found the last one's workflow
    engine_state(app).ctx.workflows = WorkflowCache(maxsize=0)  # every command reloads from JSON
    reloaded = _scenario(app, clock)
    assert engine_state(app).ctx.workflows.hits == 0
    assert _outcome(app, cached) == _outcome(app, reloaded)
    assert [kind for kind, _ in _outcome(app, cached)[1]].count("task:completed") == 3


def test_an_ended_instance_is_not_kept(app: Flask, deploy: Callable[..., DefinitionOut], clock: SimulatedClock,
                                       run_jobs: Callable[..., int]) -> None:
    """No command changes an ended instance: kept, its workflow would push a running one out of the bounded cache
    (here: two entries, a running instance, one that ends, then a new one)."""
    deploy("sample_review")
    cache = engine_state(app).ctx.workflows = WorkflowCache(maxsize=2)
    running = start(app, "sample_review", {"project": "示范"})
    ended = _scenario(app, clock)
    assert run_jobs() == 1  # the permit: the instance ends
    with engine_state(app).sessions() as session:
        assert session.get(ProcessInstance, ended).status == "completed"  # type: ignore[union-attr]
    assert len(cache) == 1  # the running instance's only
    start(app, "sample_review", {"project": "又一个"})
    hits = cache.hits
    complete(app, running, "review_land", APPROVE)
    assert (cache.hits, cache.misses) == (hits + 1, 0)  # still there: no reload from JSON


def test_a_failed_command_leaves_nothing_cached(app: Flask, deploy: Callable[..., DefinitionOut],
                                                clock: SimulatedClock) -> None:
    deploy("sample_review")
    instance_id = start(app, "sample_review", {"project": "示范"})
    cache = engine_state(app).ctx.workflows
    assert len(cache) == 1
    with pytest.raises(FormInvalid):
        complete(app, instance_id, "review_land", {"decision": "maybe"})  # refused after the lock, rolled back
    complete(app, instance_id, "review_land", APPROVE)
    assert len(cache) == 1


def test_a_state_changed_behind_the_cache_is_reloaded(app: Flask, deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    state = engine_state(app)
    instance_id = start(app, "sample_review", {"project": "示范"})
    assert len(state.ctx.workflows) == 1
    with state.sessions.begin() as session:  # e.g. restored from a backup: same version counter, other JSON
        session.get(ProcessInstance, instance_id).state_json += " "
    misses = state.ctx.workflows.misses
    run_command(state.sessions, lambda s: load(s, state.ctx, lock_instance(s, instance_id)))
    assert state.ctx.workflows.misses == misses + 1


def test_values_json_would_change_are_never_cached(app: Flask, deploy: Callable[..., DefinitionOut]) -> None:
    deploy("sample_review")
    state = engine_state(app)
    instance_id = start(app, "sample_review", {"project": "示范"})

    def put_a_tuple(session: Any) -> None:
        loaded = load(session, state.ctx, lock_instance(session, instance_id))
        loaded.workflow.data["pair"] = (1, 2)  # a reload would give [1, 2]
        persist(session, state.ctx, loaded, runtime.snapshot(loaded.workflow), actor="t", now=state.clock.now())

    run_command(state.sessions, put_a_tuple)
    assert len(state.ctx.workflows) == 0


def _reads(state: Any, start: str) -> list[str]:
    """Records the statements that begin with `start` (whitespace collapsed) while listening."""
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if " ".join(statement.split()).startswith(start):
            seen.append(statement)

    event.listen(state.db_engine, "before_cursor_execute", listen)
    return seen


def _open_rows_reads(state: Any) -> list[str]:
    """Records the open task rows' query (services/execution._OPEN_TASKS) while listening."""
    return _reads(state, "SELECT human_tasks.id, human_tasks.spiff_task_id, human_tasks.properties")


def test_the_open_task_rows_travel_with_the_cached_workflow(app: Flask, deploy: Callable[..., DefinitionOut],
                                                            clock: SimulatedClock,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that takes the workflow from the cache knows the instance's open task rows from the command that
    left it there and does not read them; after a reload it reads them once, then carries them again."""
    deploy("sample_review")
    state = engine_state(app)
    monkeypatch.setenv("APPROVALS_CHECK_DUMPS", "0")  # the check reads them too
    reads = _open_rows_reads(state)
    instance_id = _scenario(app, clock)
    assert state.ctx.workflows.hits == 3 and reads == []
    state.ctx.workflows.clear()  # a reload: read once, then carried again
    run_command(state.sessions, lambda s: _persist_again(s, state, instance_id))
    assert len(reads) == 1
    run_command(state.sessions, lambda s: _persist_again(s, state, instance_id))
    assert len(reads) == 1


def _persist_again(session: Any, state: Any, instance_id: str) -> None:
    """A command that only syncs the instance's rows with its unchanged state."""
    loaded = load(session, state.ctx, lock_instance(session, instance_id))
    persist(session, state.ctx, loaded, runtime.snapshot(loaded.workflow), actor="t", now=state.clock.now())


def test_rows_changed_behind_the_kept_ones_are_caught_by_the_check(app: Flask,
                                                                   deploy: Callable[..., DefinitionOut]) -> None:
    """With APPROVALS_CHECK_DUMPS=1 (the suite's setting) every use of the kept rows is compared with the table: a
    task row closed without going through a command (nor bumping the instance's version) is named."""
    deploy("sample_review")
    state = engine_state(app)
    instance_id = start(app, "sample_review", {"project": "示范"})
    with state.sessions.begin() as session:
        row = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).first()
        assert row is not None
        row.status = "cancelled"
    with pytest.raises(KnownRowsMismatch):
        run_command(state.sessions, lambda s: _persist_again(s, state, instance_id))


def _waiting_timers_reads(state: Any) -> list[str]:
    """Records the waiting timer rows' query (services/execution._WAITING_TIMERS) while listening."""
    return _reads(state, "SELECT timers.id, timers.spiff_task_id, timers.bpmn_id, timers.due_at")


def _tick(state: Any, at: datetime) -> timers.FireReport:
    state.clock.set(at)
    return timers.fire_due(state.sessions, state.ctx, at, 100)


def test_the_waiting_timer_rows_travel_with_the_cached_workflow(app: Flask, deploy: Callable[..., DefinitionOut],
                                                                clock: SimulatedClock,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Timers scheduled, fired one after the other (a cycle included) by commands on the cached workflow: none
    reads the waiting timer rows, and the rows end as with reloads."""
    deploy(TIMERS / "timer_kinds.bpmn")
    state = engine_state(app)
    monkeypatch.setenv("APPROVALS_CHECK_DUMPS", "0")  # the check reads them too
    reads = _waiting_timers_reads(state)

    def run() -> list[tuple[str, str, datetime | None]]:
        clock.set(T0)
        instance_id = run_command(state.sessions, lambda s: instances.start(
            s, state.ctx, "timer_kinds", {"hearing_at": "2026-03-02T12:00:00+08:00"}, actor="t", now=T0)).id
        for hours in (1, 3, 4, 5):  # the hour's wait, the date, then the reminder cycle twice
            assert len(_tick(state, T0 + timedelta(hours=hours)).fired) == 1
        with state.sessions() as session:
            rows = session.execute(select(Timer.bpmn_id, Timer.status, Timer.due_at)
                                   .where(Timer.instance_id == instance_id).order_by(Timer.created_at)).all()
        return [tuple(row) for row in rows]

    cached_rows = run()
    assert state.ctx.workflows.hits == 4 and reads == []
    state.ctx.workflows = WorkflowCache(maxsize=0)  # every command reloads and reads the rows
    reloaded_rows = run()
    assert len(reads) == 4
    assert cached_rows == reloaded_rows
    assert [status for _, status, _ in cached_rows] == ["fired", "fired", "fired"]  # one row for the cycle


def test_a_timer_row_changed_behind_the_kept_ones_is_caught_by_the_check(
        app: Flask, deploy: Callable[..., DefinitionOut]) -> None:
    """A waiting timer's due moved in its row without a command (nor a new version): named by the check."""
    deploy(TIMERS / "timer_then_script.bpmn")
    state = engine_state(app)
    instance_id = run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "timer_then_script", {"divisor": 2}, actor="t", now=state.clock.now())).id
    with state.sessions.begin() as session:
        row = session.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        row.due_at = row.due_at + timedelta(minutes=1)
    with pytest.raises(KnownRowsMismatch, match="waiting timers"):
        run_command(state.sessions, lambda s: _persist_again(s, state, instance_id))


def test_a_timer_incident_leaves_no_cached_workflow_usable(app: Flask, deploy: Callable[..., DefinitionOut],
                                                           clock: SimulatedClock) -> None:
    """Another process's failed firing marks the timer row as an incident and bumps the instance's version: a
    workflow this process cached before, with the timer among its kept waiting rows, is not taken again."""
    deploy(TIMERS / "timer_then_script.bpmn")
    state = engine_state(app)
    clock.set(T0)
    instance_id = run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "timer_then_script", {"divisor": 0}, actor="t", now=T0)).id
    here = state.ctx.workflows
    assert len(here) == 1
    state.ctx.workflows = WorkflowCache()  # the other process, whose firing fails
    assert len(_tick(state, T0 + timedelta(hours=2)).incidents) == 1
    state.ctx.workflows = here
    misses = here.misses
    run_command(state.sessions, lambda s: _persist_again(s, state, instance_id))  # no KnownRowsMismatch
    assert here.misses == misses + 1
    with state.sessions() as session:  # as after any reload: the timer still waits in the state, so a new row
        statuses = session.scalars(select(Timer.status).where(Timer.instance_id == instance_id)).all()
    assert sorted(statuses) == ["incident", "waiting"]
