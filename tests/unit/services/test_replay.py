"""Replay: rebuild instances from their history in a scratch database, compare events and canonical state."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from flask import Flask
from engine.calendar import read_schedule
from engine.clock import SimulatedClock
from engine.dto import DefinitionOut
from engine.models import InstanceEvent, ProcessInstance
from engine.services import calendars, history, jobs, timers
from engine.services.commands import run_command
from engine.services.jobs import TopicRequest
from engine.services.replay import Replayer, ReplayReport
from tests.audit_support import APPROVE, REJECT, complete, start
from tests.conftest import DATA, engine_state


def _replay(app: Flask, instance_id: str, **kwargs: object) -> ReplayReport:
    state = engine_state(app)
    with state.sessions() as session, Replayer(session, state.ctx) as replayer:
        return replayer.replay(instance_id, **kwargs)  # type: ignore[arg-type]


def _events(app: Flask, instance_id: str) -> list[InstanceEvent]:
    with engine_state(app).sessions() as session:
        return list(history.list_events(session, instance_id))


def _rewrite_chain(app: Flask, instance_id: str, edit: Callable[[list[InstanceEvent]], list[InstanceEvent]]) -> None:
    """What a forger with database access does: change rows, then recompute every hash after them."""
    state = engine_state(app)
    with state.sessions.begin() as session:
        rows = list(history.list_events(session, instance_id))
        kept = edit(rows)
        for row in rows:
            if row not in kept:
                session.delete(row)
        session.flush()
        prev = history.GENESIS
        for seq, row in enumerate(kept, start=1):
            row.seq, row.prev_hash = seq, prev
            row.hash = history.event_hash(row.instance_id, seq, row.kind, row.at, row.actor, row.payload, prev)
            prev = row.hash


def _sample(app: Flask, deploy: Callable[..., DefinitionOut], clock: SimulatedClock,
            fire: dict | None = None) -> str:
    deploy("sample_review")
    instance_id = start(app, "sample_review", {"project": "呼和浩特示范项目"})
    for bpmn_id in ("review_land", "review_design", "review_fire"):
        clock.advance(timedelta(hours=3))
        complete(app, instance_id, bpmn_id, (fire or APPROVE) if bpmn_id == "review_fire" else APPROVE,
                 actor=f"clerk.{bpmn_id}")
    return instance_id


def test_whole_history_rebuilds_the_stored_state(app: Flask, deploy: Callable[..., DefinitionOut],
                                                 clock: SimulatedClock) -> None:
    instance_id = _sample(app, deploy, clock, fire=REJECT)
    report = _replay(app, instance_id, verify=True)
    assert report.ok, report.difference
    assert report.state_verified and report.commands == 4
    assert report.as_of is not None and report.as_of.status == "completed" and report.as_of.open_tasks == []


def test_replay_to_the_middle_shows_the_open_tasks_of_then(app: Flask, deploy: Callable[..., DefinitionOut],
                                                           clock: SimulatedClock) -> None:
    instance_id = _sample(app, deploy, clock)
    events = _events(app, instance_id)
    created = {e.payload["task_id"]: e.payload["bpmn_id"] for e in events if e.kind == "task:created"}
    for cut in range(1, len(events) + 1):
        # Open then = created by seq `cut`'s command and not completed by it (a command is applied whole).
        command_end = max(e.seq for e in events if e.at == events[cut - 1].at and e.actor == events[cut - 1].actor)
        done = {e.payload["task_id"] for e in events if e.kind == "task:completed" and e.seq <= command_end}
        expected = {tid: b for tid, b in created.items()
                    if next(e.seq for e in events if e.payload.get("task_id") == tid) <= command_end
                    and tid not in done}
        report = _replay(app, instance_id, until=cut)
        assert report.ok, report.difference
        assert report.as_of is not None
        assert {t.id: t.bpmn_id for t in report.as_of.open_tasks} == expected, cut
    middle = next(e.seq for e in events if e.kind == "task:completed" and e.payload["bpmn_id"] == "review_land")
    as_of = _replay(app, instance_id, until=middle).as_of
    assert as_of is not None
    assert sorted(t.bpmn_id for t in as_of.open_tasks) == ["review_design", "review_fire"]
    assert as_of.at == history.format_at(events[middle - 1].at) and as_of.status == "running"


def test_a_tampered_state_is_named(app: Flask, deploy: Callable[..., DefinitionOut], clock: SimulatedClock) -> None:
    instance_id = _sample(app, deploy, clock)
    state = engine_state(app)
    with state.sessions.begin() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        tampered = instance.state_json.replace(json.dumps("符合要求"), json.dumps("同意")).replace(  # stored in ASCII
            '"decision":"approve"', '"decision":"reject"', 1)
        assert json.dumps("同意") in tampered
        instance.state_json = tampered
    report = _replay(app, instance_id, verify=True)
    assert not report.ok and report.difference is not None
    assert report.difference.seq is None and "stored state differs" in report.difference.message
    assert "decision" in report.difference.message


def test_a_rewritten_input_is_named_at_its_first_consequence(app: Flask, deploy: Callable[..., DefinitionOut],
                                                             clock: SimulatedClock) -> None:
    instance_id = _sample(app, deploy, clock)

    def flip_fire_decision(rows: list[InstanceEvent]) -> list[InstanceEvent]:
        for row in rows:
            if row.kind == "task:completed" and row.payload["bpmn_id"] == "review_fire":
                row.payload = {**row.payload, "data": REJECT}
        return rows

    _rewrite_chain(app, instance_id, flip_fire_decision)
    report = _replay(app, instance_id, verify=True)
    assert report.difference is not None
    advanced = [e for e in _events(app, instance_id) if e.kind == "instance:advanced"][-1]
    assert report.difference.seq == advanced.seq and report.difference.kind == "instance:advanced"
    assert "end_rejected" in report.difference.message


def test_a_deleted_consequence_is_named(app: Flask, deploy: Callable[..., DefinitionOut],
                                        clock: SimulatedClock) -> None:
    instance_id = _sample(app, deploy, clock)
    target = next(e for e in _events(app, instance_id)
                  if e.kind == "task:created" and e.payload["bpmn_id"] == "review_design")
    _rewrite_chain(app, instance_id, lambda rows: [r for r in rows if r.seq != target.seq])
    report = _replay(app, instance_id, verify=True)
    assert report.difference is not None
    assert report.difference.seq == target.seq and report.difference.kind == "task:created"
    assert "review_design" in report.difference.message.split("replayed")[1]


def test_timers_pauses_and_deemed_paths_replay(app: Flask, deploy: Callable[..., DefinitionOut],
                                               clock: SimulatedClock) -> None:
    deploy(DATA / "bpmn" / "timer_pause.bpmn")
    state = engine_state(app)
    instance_id = start(app, "timer_pause", {"limit": 5})
    clock.advance(timedelta(days=3))
    complete(app, instance_id, "supplement", {})  # ends the pause: the review's due moves
    clock.advance(timedelta(days=20))
    report = timers.fire_due(state.sessions, state.ctx, clock.now())
    assert len(report.fired) >= 1
    kinds = [e.kind for e in _events(app, instance_id)]
    assert {"clock:paused", "clock:resumed", "timer:rescheduled", "timer:fired", "instance:completed"} <= set(kinds)
    result = _replay(app, instance_id, verify=True)
    assert result.ok, result.difference
    paused_seq = next(e.seq for e in _events(app, instance_id) if e.kind == "clock:paused")
    as_of = _replay(app, instance_id, until=paused_seq).as_of
    assert as_of is not None and {t["bpmn_id"] for t in as_of.waiting_timers} == {"deemed_design"}


def test_a_calendar_loaded_mid_flight_replays_at_its_instant(app: Flask, deploy: Callable[..., DefinitionOut],
                                                             clock: SimulatedClock) -> None:
    clock.set(datetime(2026, 12, 28, 2, 0, tzinfo=timezone.utc))
    deploy(DATA / "bpmn" / "timer_deemed_review.bpmn")
    state = engine_state(app)
    instance_id = start(app, "timer_deemed_review", {"limit": 5})
    clock.advance(timedelta(days=1))
    schedule = read_schedule(DATA / "calendar_2027_example.toml")
    run_command(state.sessions, lambda s: calendars.load_year(s, state.ctx, schedule, actor="operator",
                                                              now=clock.now()))
    assert any(e.kind == "timer:rescheduled" for e in _events(app, instance_id))
    clock.advance(timedelta(days=30))
    timers.fire_due(state.sessions, state.ctx, clock.now())
    result = _replay(app, instance_id, verify=True)
    assert result.ok, result.difference


def test_worker_results_and_bpmn_errors_replay(app: Flask, deploy: Callable[..., DefinitionOut],
                                               clock: SimulatedClock) -> None:
    deploy(DATA / "bpmn" / "error_routing.bpmn")
    state = engine_state(app)
    instance_id = start(app, "error_routing", {})
    clock.advance(timedelta(minutes=5))
    claimed = run_command(state.sessions, lambda s: jobs.claim(
        s, state.ctx, [TopicRequest("check.applicant", timedelta(minutes=5))], worker="w1", max_jobs=10,
        now=clock.now()))
    assert len(claimed) >= 2
    first, second, *rest = claimed
    run_command(state.sessions, lambda s: jobs.complete(s, state.ctx, first.id, {"score": 7}, worker="w1",
                                                        actor="worker:w1", now=clock.now()))
    run_command(state.sessions, lambda s: jobs.fail(s, state.ctx, second.id, worker="w1", actor="worker:w1",
                                                    now=clock.now(), error_message="timeout", retries=2,
                                                    retry_delay=timedelta(seconds=30)))
    for job in rest:
        run_command(state.sessions, lambda s, j=job: jobs.bpmn_error(
            s, state.ctx, j.id, "blacklisted", message="失信", worker="w1", actor="worker:w1", now=clock.now()))
    kinds = {e.kind for e in _events(app, instance_id)}
    assert {"job:completed", "job:failed", "job:bpmn_error"} <= kinds
    result = _replay(app, instance_id, verify=True)
    assert result.ok, result.difference


def test_bad_arguments_change_nothing(app: Flask, deploy: Callable[..., DefinitionOut],
                                      clock: SimulatedClock) -> None:
    import pytest

    from engine.errors import InstanceNotFound, InvalidInput

    instance_id = _sample(app, deploy, clock)
    last = len(_events(app, instance_id))
    with engine_state(app).sessions() as session:
        before = session.get(ProcessInstance, instance_id)
        assert before is not None
        stored = (before.status, before.state_json, before.lock_version)
    with pytest.raises(InvalidInput, match="between 1 and"):
        _replay(app, instance_id, until=last + 1)
    with pytest.raises(InvalidInput, match="leave out --until"):
        _replay(app, instance_id, until=2, verify=True)
    with pytest.raises(InstanceNotFound):
        _replay(app, "no-such-instance")
    with engine_state(app).sessions() as session:
        after = session.get(ProcessInstance, instance_id)
        assert after is not None and (after.status, after.state_json, after.lock_version) == stored
        assert len(list(history.list_events(session, instance_id))) == last


def _event(seq: int, kind: str, actor: str = "scheduler", minute: int = 0, **payload: object) -> InstanceEvent:
    return InstanceEvent(chain="c", instance_id="c", seq=seq, kind=kind, actor=actor,
                         at=datetime(2026, 3, 2, 1, minute, tzinfo=timezone.utc), payload=dict(payload),
                         prev_hash="", hash="")


def test_commands_are_cut_at_inputs_and_at_changes_of_actor_or_time() -> None:
    from engine.services.replay import _command_event, _segments
    from engine.services.replay_kinds import REGISTRY

    events = [_event(1, "instance:started", "window"), _event(2, "task:created", "window"),
              _event(3, "task:draft_saved", "clerk", 1), _event(4, "task:completed", "clerk", 2),
              _event(5, "task:completed", "clerk", 2), _event(6, "instance:advanced", "clerk", 2),
              # a tick: the timer cancels a pausing task, the pause ends, then the timer row is marked fired
              _event(7, "instance:advanced", minute=3), _event(8, "task:cancelled", minute=3),
              _event(9, "clock:resumed", minute=3), _event(10, "timer:rescheduled", minute=3, reason="clock_resumed"),
              _event(11, "timer:fired", minute=3),
              _event(12, "timer:rescheduled", "operator", 4, reason="calendar_loaded")]
    segments = _segments(events, REGISTRY)
    assert [[e.seq for e in s] for s in segments] == [[1, 2], [4], [5, 6], [7, 8, 9, 10, 11], [12]]
    assert [_command_event(s, REGISTRY).seq for s in segments] == [1, 4, 5, 11, 12]
