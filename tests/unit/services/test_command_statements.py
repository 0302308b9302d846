"""The command path's statements (issue 14): a regression that re-adds queries to a review or job completion fails
here, and the buffered history events keep every guarantee (chain and checkpoints verify, order, rollback)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine.bpmn import runtime
from engine.dto import DefinitionOut
from engine.errors import DefinitionNotFound, InvalidInput
from engine.models import ChainHead, EventKind, InstanceEvent, ServiceJob, ServiceJobStatus
from engine.sdk import JobContext, TaskRouter
from engine.services import history, human_tasks, instances, jobs
from engine.services.commands import run_command
from engine.services.execution import KnownRowsMismatch, load, lock_instance
from tests.conftest import HMAC_KEY, ROOT, engine_state

APPROVAL_9 = ROOT / "bench" / "approval_9.bpmn"
# Measured after the issue-14 persistence work (bench/command_cost.py), neither BEGIN (issued by the dialect on the
# DB-API connection: no cursor event sees it) nor COMMIT counted, nor the suite's own reads (APPROVALS_CHECK_DUMPS):
# a review completion on a warm cache is 7 (instance, task and chain head locked together, 3 writes, 3 history
# writes; its open task and timer rows travel with the cached workflow); the permit job's completion 6 (instance,
# job and chain head locked together, job, instance, history; no other service task waits, so no job row is
# read). Before: 21 and 20; then 9 and 9 (10 and 10 with the check's reads, as this test counted them); then 8 and
# 7 (the chain head read on its own).
REVIEW_STATEMENTS = 7
JOB_STATEMENTS = 6
START_STATEMENTS = 7  # a new instance: no rows to read, no chain head yet (was 12)

router = TaskRouter()


@router.task("bench.intake")
def intake(ctx: JobContext) -> dict[str, object]:
    return {"received": ctx.job_id}


@router.task("bench.issue_permit")
def issue_permit(ctx: JobContext) -> dict[str, object]:
    return {"permit_no": ctx.job_id[:8]}


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every statement the engine runs: with a listener on the engine, the statements services/dbapi_path.py would
    run on the sqlite3 connection go through SQLAlchemy instead (the very same statements), so none is missed."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    db_engine = engine_state(app).db_engine
    event.listen(db_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db_engine, "before_cursor_execute", count)


def _start(app: Flask, run_jobs: Callable[..., int]) -> tuple[str, list[tuple[str, str]]]:
    state = engine_state(app)
    with statements(app) as seen:
        instance_id = run_command(state.sessions, lambda s: instances.start(
            s, state.ctx, "approval_9", {}, actor="window", now=state.clock.now())).id
    assert len(seen) <= START_STATEMENTS, "\n".join(seen)
    assert not any("source_xml" in statement for statement in seen)  # the spec is cached: the row is not read
    assert run_jobs(router) == 1  # intake
    with state.sessions() as session:
        tasks = [(t.id, t.bpmn_id) for t in human_tasks.list_tasks(session, instance_id=instance_id)]
    assert len(tasks) == 9
    return instance_id, tasks


def _complete(app: Flask, task_id: str, bpmn_id: str) -> None:
    state = engine_state(app)
    run_command(state.sessions, lambda s: human_tasks.complete(s, state.ctx, task_id, {bpmn_id: "approve"},
                                                               actor="clerk", now=state.clock.now()))


def _verified(app: Flask) -> None:
    with engine_state(app).sessions() as session:
        assert history.verify_all(session, HMAC_KEY.encode()) == []


def test_review_and_job_completion_statement_counts(app: Flask, deploy: Callable[..., DefinitionOut],
                                                    run_jobs: Callable[..., int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVALS_CHECK_DUMPS", "0")  # the statements a command runs, not the suite's checks
    deploy(APPROVAL_9)
    state = engine_state(app)
    instance_id, tasks = _start(app, run_jobs)
    for task_id, bpmn_id in tasks[:-1]:
        with statements(app) as seen:
            _complete(app, task_id, bpmn_id)
        assert len(seen) <= REVIEW_STATEMENTS, "\n".join(seen)
        assert sum(s.startswith("INSERT INTO instance_events") for s in seen) == 1  # the command's events at once
        assert not any(s.startswith("SELECT chain_heads") for s in seen)  # read with the locked rows
    _complete(app, *tasks[-1])  # the join and the permit job
    claimed = run_command(state.sessions, lambda s: jobs.claim(
        s, state.ctx, [jobs.TopicRequest("bench.*", timedelta(minutes=5))], worker="w", max_jobs=1,
        now=state.clock.now()))
    with statements(app) as seen:
        run_command(state.sessions, lambda s: jobs.complete(s, state.ctx, claimed[0].id, {"permit_no": "1"},
                                                            worker="w", actor="w", now=state.clock.now()))
    assert len(seen) <= JOB_STATEMENTS, "\n".join(seen)
    with state.sessions() as session:
        assert instances.get_instance(session, instance_id).status == "completed"
        events = history.list_events(session, instance_id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.kind for e in events][-2:] == [EventKind.INSTANCE_ADVANCED, EventKind.INSTANCE_COMPLETED]
    _verified(app)


def test_buffered_events_are_read_back_and_committed(app: Flask, deploy: Callable[..., DefinitionOut],
                                                     run_jobs: Callable[..., int]) -> None:
    """A read of the history inside the recording transaction sees its events; a commit writes them even when
    the caller never reaches the end of `persist` (suspend records and returns)."""
    deploy(APPROVAL_9)
    state = engine_state(app)
    instance_id, _ = _start(app, run_jobs)
    with state.sessions.begin() as session:
        before = history.count_events(session, instance_id)
        instances.set_suspended(session, state.ctx, instance_id, True, actor="admin", now=state.clock.now(),
                                reason="check")
        assert history.count_events(session, instance_id) == before + 1
        assert session.scalars(select(InstanceEvent.kind).where(InstanceEvent.chain == instance_id)
                               .order_by(InstanceEvent.seq.desc()).limit(1)).one() == EventKind.INSTANCE_SUSPENDED
        instances.set_suspended(session, state.ctx, instance_id, False, actor="admin", now=state.clock.now(),
                                reason="check")
    with state.sessions() as session:
        head = session.get(ChainHead, instance_id)
        assert head is not None and head.last_seq == before + 2
    _verified(app)


def test_a_rolled_back_command_leaves_no_events(app: Flask, deploy: Callable[..., DefinitionOut],
                                                run_jobs: Callable[..., int]) -> None:
    deploy(APPROVAL_9)
    state = engine_state(app)
    instance_id, tasks = _start(app, run_jobs)
    with state.sessions() as session:
        before = history.count_events(session, instance_id)

    def fails(session: Session) -> None:
        human_tasks.complete(session, state.ctx, tasks[0][0], {tasks[0][1]: "approve"}, actor="clerk",
                             now=state.clock.now())
        raise RuntimeError("after persist")

    with pytest.raises(RuntimeError):
        run_command(state.sessions, fails)
    _complete(app, *tasks[1])  # the next command continues the chain from the committed head
    with state.sessions() as session:
        kinds = [e.kind for e in history.list_events(session, instance_id)]
    assert kinds[before] == EventKind.TASK_COMPLETED and len(kinds) > before
    _verified(app)


def test_savepoints_and_buffered_events(app: Flask, deploy: Callable[..., DefinitionOut],
                                        run_jobs: Callable[..., int]) -> None:
    """Inside a savepoint events are written at once (its rollback takes them); opening one over buffered events
    is refused rather than letting its rollback take them."""
    deploy(APPROVAL_9)
    state = engine_state(app)
    instance_id, _ = _start(app, run_jobs)
    record = history.record
    with state.sessions.begin() as session:
        lock_instance(session, instance_id)
        record(session, hmac_key=HMAC_KEY.encode(), instance_id=instance_id, kind=EventKind.TASK_CLAIMED,
               actor="a", at=state.clock.now())
        with pytest.raises(RuntimeError, match="buffered"):
            session.begin_nested()
    with state.sessions.begin() as session:
        lock_instance(session, instance_id)
        savepoint = session.begin_nested()
        record(session, hmac_key=HMAC_KEY.encode(), instance_id=instance_id, kind=EventKind.TASK_CLAIMED,
               actor="rolled back", at=state.clock.now())
        savepoint.rollback()
        record(session, hmac_key=HMAC_KEY.encode(), instance_id=instance_id, kind=EventKind.TASK_UNCLAIMED,
               actor="kept", at=state.clock.now())
    with state.sessions() as session:
        actors = [e.actor for e in history.list_events(session, instance_id)]
    assert "kept" in actors and "rolled back" not in actors
    _verified(app)


def test_waiting_jobs_match_a_tree_scan(app: Flask, deploy: Callable[..., DefinitionOut],
                                            run_jobs: Callable[..., int]) -> None:
    """The check that lets persist skip the job rows agrees with Spiff's own scan at every step."""
    from SpiffWorkflow.util.task import TaskState

    from engine.bpmn.external_tasks import ExternalServiceTask

    deploy(APPROVAL_9)
    state = engine_state(app)

    def check(instance_id: str) -> bool:
        with state.sessions() as session:
            workflow = load(session, state.ctx, instances.get_instance(session, instance_id)).workflow
            scanned = {str(t.id) for t in workflow.get_tasks(state=TaskState.STARTED)
                       if isinstance(t.task_spec, ExternalServiceTask)}
            assert runtime.waiting_jobs(workflow) == scanned
            return bool(scanned)

    instance_id = run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "approval_9", {}, actor="window", now=state.clock.now())).id
    seen = [check(instance_id)]
    run_jobs(router)
    with state.sessions() as session:
        tasks = [(t.id, t.bpmn_id) for t in human_tasks.list_tasks(session, instance_id=instance_id)]
    for task in tasks:
        seen.append(check(instance_id))
        _complete(app, *task)
    seen.append(check(instance_id))
    run_jobs(router)
    seen.append(check(instance_id))
    assert seen[0] and seen[-2] and not any(seen[1:-2]) and not seen[-1]


def test_forms_are_read_once_per_version_and_still_checked(app: Flask, deploy: Callable[..., DefinitionOut]) -> None:
    """A review's form is validated on every completion, from the version's form snapshot read once."""
    from engine.errors import FormInvalid
    from tests.audit_support import APPROVE, open_task_id, start

    deploy("sample_review")
    state = engine_state(app)
    instance_id = start(app, "sample_review", {"project": "P"})

    def complete(bpmn_id: str, data: dict[str, Any]) -> list[str]:
        task_id = open_task_id(app, instance_id, bpmn_id)
        with statements(app) as seen:
            run_command(state.sessions, lambda s: human_tasks.complete(s, state.ctx, task_id, data, actor="clerk",
                                                                       now=state.clock.now()))
        return [s for s in seen if "process_definitions.forms" in s]

    with pytest.raises(FormInvalid):
        complete("review_land", {"decision": "maybe"})
    assert complete("review_land", APPROVE) == []  # read by the refused completion already
    with pytest.raises(FormInvalid):
        complete("review_design", {})
    assert complete("review_design", APPROVE) == []


def test_an_event_recorded_first_in_a_session_is_committed(app: Flask) -> None:
    """`record` as a session's first statement (nothing began yet) begins the transaction, as its read did."""
    state = engine_state(app)
    with state.sessions() as session:
        history.record(session, hmac_key=HMAC_KEY.encode(), instance_id=None, kind=EventKind.CLOCK_SET,
                       actor="admin", at=state.clock.now(), payload={"n": 1})
        session.commit()
    with state.sessions() as session:
        assert [e.kind for e in history.list_events(session, "system")] == [EventKind.CLOCK_SET]
    _verified(app)


def test_a_start_reads_the_definition_row_only_when_its_spec_is_not_cached(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> None:
    from engine.services.context import SpecCache

    definition = deploy(APPROVAL_9)
    state = engine_state(app)
    state.ctx.specs = SpecCache()  # as after a restart
    with statements(app) as seen:
        started = run_command(state.sessions, lambda s: instances.start(
            s, state.ctx, "approval_9", {}, actor="window", now=state.clock.now()))
    assert sum("source_xml" in statement for statement in seen) == 1
    assert state.ctx.specs.cached(definition.id) is not None and started.definition_id == definition.id
    assert run_jobs(router) == 1  # the instance runs on the spec parsed from the row
    with pytest.raises(InvalidInput, match="not 'other'"):
        run_command(state.sessions, lambda s: instances.start(s, state.ctx, "other", {}, actor="window",
                                                              now=state.clock.now(), definition_id=definition.id))
    with pytest.raises(DefinitionNotFound):
        run_command(state.sessions, lambda s: instances.start(s, state.ctx, "approval_9", {}, actor="window",
                                                              now=state.clock.now(), definition_id=10_000))


def test_an_open_job_row_of_no_waiting_task_is_caught_by_the_check(app: Flask, deploy: Callable[..., DefinitionOut],
                                                                  run_jobs: Callable[..., int]) -> None:
    """Persist does not read the job rows when no service task waits but those the command finished; with
    APPROVALS_CHECK_DUMPS=1 (the suite's setting) it reads them anyway and names an open one."""
    deploy(APPROVAL_9)
    state = engine_state(app)
    instance_id, tasks = _start(app, run_jobs)
    for task in tasks[:-1]:
        _complete(app, *task)
    with state.sessions.begin() as session:  # a row left open behind the engine's back
        session.add(ServiceJob(id="stray", instance_id=instance_id, spiff_task_id="not-waiting", bpmn_id="intake",
                               topic="bench.intake", payload={}, status=ServiceJobStatus.AVAILABLE, priority=0,
                               retries=3, failures=0, attempts=0, run_after=state.clock.now(),
                               created_at=state.clock.now()))
    with pytest.raises(KnownRowsMismatch, match="open job rows"):
        _complete(app, *tasks[-1])  # the join starts the permit job
