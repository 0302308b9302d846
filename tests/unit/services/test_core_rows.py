"""Core reads and writes of the command path (services/core_rows.py): the rows are written, the session never holds
a stale copy of them, and the instance save keeps the version check the ORM's `version_id_col` did."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import bindparam, delete, inspect, select, update
from sqlalchemy.orm.exc import StaleDataError

from engine.dto import DefinitionOut
from engine.errors import InstanceNotFound
from engine.models import (
    ChainHead,
    DocumentSequence,
    EnforcementShare,
    EventKind,
    HumanTask,
    HumanTaskStatus,
    Notice,
    ProcessInstance,
)
from engine.services import core_rows, event_batch, execution, history, instances
from engine.services.commands import run_command
from engine.services.human_tasks import _LOCKED_TASK
from tests.conftest import engine_state
from tests.unit.services.test_command_statements import APPROVAL_9, router


def _instance_with_tasks(app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> str:
    deploy(APPROVAL_9)
    state = engine_state(app)
    instance_id = run_command(state.sessions, lambda s: instances.start(
        s, state.ctx, "approval_9", {}, actor="window", now=state.clock.now())).id
    assert run_jobs(router) == 1  # intake: the reviews open
    return instance_id


def test_an_updated_object_holds_the_written_values_as_committed(app: Flask, deploy: Callable[..., DefinitionOut],
                                                                 run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions.begin() as session:
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).first()
        assert task is not None
        core_rows.update_object(session, task, {"status": HumanTaskStatus.CANCELLED, "completed_by": "x"})
        assert task.status == HumanTaskStatus.CANCELLED and not session.is_modified(task)
        other = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                        HumanTask.id != task.id)).first()
        assert other is not None
        core_rows.update_row(session, HumanTask, other.id, {"assignee": "clerk"})  # held by the identity map
        assert other.assignee == "clerk" and not session.is_modified(other)
        task_id, other_id = task.id, other.id
    with state.sessions() as session:
        assert session.get_one(HumanTask, task_id).status == HumanTaskStatus.CANCELLED
        assert session.get_one(HumanTask, other_id).assignee == "clerk"


def test_a_read_sees_what_the_session_has_not_flushed(app: Flask, deploy: Callable[..., DefinitionOut],
                                                      run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).all()
        tasks[0].status = HumanTaskStatus.CANCELLED  # pending in the session
        statement = select(HumanTask.id).where(HumanTask.instance_id == instance_id,
                                               HumanTask.status == HumanTaskStatus.OPEN)
        assert {row.id for row in core_rows.read(session, statement, {})} == {t.id for t in tasks[1:]}


def test_the_instance_save_bumps_the_version_and_writes_pending_changes(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions.begin() as session:
        instance = session.get_one(ProcessInstance, instance_id)
        version = instance.lock_version
        instance.business_key = "BK-1"  # an ORM change not flushed yet goes with the save
        core_rows.save_instance(session, instance, {"serializer_version": "x"})
        assert instance.lock_version == version + 1 and not session.is_modified(instance)
    with state.sessions() as session:
        stored = session.get_one(ProcessInstance, instance_id)
        assert (stored.lock_version, stored.business_key, stored.serializer_version) == (version + 1, "BK-1", "x")


def test_the_instance_save_refuses_a_version_changed_since_the_read(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:  # closed without a commit
        instance = session.get_one(ProcessInstance, instance_id)
        session.connection().execute(update(ProcessInstance.__table__).where(
            ProcessInstance.__table__.c.id == instance_id).values(lock_version=instance.lock_version + 1))
        with pytest.raises(StaleDataError):
            core_rows.save_instance(session, instance, {"serializer_version": "x"})


def _column_values(obj: object) -> dict[str, object]:
    return {c.key: getattr(obj, c.key) for c in type(obj).__table__.c}  # type: ignore[attr-defined]


def test_a_locked_read_gives_the_objects_the_orm_query_gives(app: Flask, deploy: Callable[..., DefinitionOut],
                                                             run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:
        task_id = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id)).first()
        orm_instance, orm_task = session.execute(
            select(ProcessInstance, HumanTask).join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(HumanTask.id == task_id)).one()
        expected = [_column_values(orm_instance), _column_values(orm_task)]
    with state.sessions.begin() as session:
        loaded = _LOCKED_TASK.load(session, {"task_id": task_id})
        assert loaded is not None
        instance, task = loaded
        assert [_column_values(instance), _column_values(task)] == expected
        assert isinstance(task.properties, dict) and task.created_at.tzinfo is not None  # converted as the ORM does
        for obj in loaded:
            assert inspect(obj).persistent and obj in session and not session.is_modified(obj)
        assert session.get(HumanTask, task_id) is task  # in the identity map: no second object for the row
        assert not session.new and not session.dirty
        # An ORM change to a loaded object flushes as usual, the instance with its version check.
        version = instance.lock_version
        instance.business_key, task.assignee = "BK-2", "clerk"
        session.flush()
        assert instance.lock_version == version + 1
    with state.sessions() as session:
        stored = session.get_one(ProcessInstance, instance_id)
        assert (stored.business_key, stored.lock_version) == ("BK-2", version + 1)
        assert session.get_one(HumanTask, task_id).assignee == "clerk"


def test_a_locked_read_refreshes_the_objects_the_session_holds(app: Flask, deploy: Callable[..., DefinitionOut],
                                                               run_jobs: Callable[..., int]) -> None:
    """populate_existing: a held object gets the row as read, a pending change to it is dropped."""
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        held = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).first()
        assert held is not None
        held.name = "pending, never flushed"
        session.connection().execute(update(HumanTask.__table__).where(HumanTask.__table__.c.id == held.id)
                                     .values(assignee="written-behind"))
        session.autoflush = False  # else the read would flush the pending change first, as the ORM's would
        loaded = _LOCKED_TASK.load(session, {"task_id": held.id})
        assert loaded is not None and loaded[1] is held
        assert held.assignee == "written-behind" and held.name != "pending, never flushed"
        assert not session.is_modified(held)


def test_a_locked_read_of_no_row_is_none(app: Flask, deploy: Callable[..., DefinitionOut],
                                         run_jobs: Callable[..., int]) -> None:
    _instance_with_tasks(app, deploy, run_jobs)
    with engine_state(app).sessions.begin() as session:
        assert _LOCKED_TASK.load(session, {"task_id": "no-such-task"}) is None
        with pytest.raises(InstanceNotFound):
            execution.lock_instance(session, "no-such-instance")
        assert not session.identity_map


def test_a_locked_read_hands_over_the_instance_s_chain_head(app: Flask, deploy: Callable[..., DefinitionOut],
                                                            run_jobs: Callable[..., int]) -> None:
    """The chain head comes with the locked rows (read and locked in the same statement), and the command's events
    continue the chain from it; an instance whose chain has no head row is still read (without it)."""
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:
        head = session.get_one(ChainHead, instance_id)
        stored = (head.last_seq, head.last_hash)
        task_id = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id)).first()
    handed: list[tuple[str, int, str]] = []
    with_hook = core_rows.LockedRead(
        _LOCKED_TASK.models, ProcessInstance.__table__.join(HumanTask.__table__,
                                                            HumanTask.__table__.c.instance_id == ProcessInstance.id),
        HumanTask.__table__.c.id == bindparam("task_id"), head=lambda _s, *values: handed.append(values))
    with state.sessions.begin() as session:
        assert with_hook.load(session, {"task_id": task_id}) is not None
    assert handed == [(instance_id, *stored)]
    with state.sessions.begin() as session:  # the engine's own: primes the batch, so the event reads no head
        execution.lock_instance(session, instance_id)
        assert event_batch.batch(session).heads[instance_id].last_seq == stored[0]
        recorded = history.record(session, hmac_key=b"k", instance_id=instance_id, kind=EventKind.TASK_DRAFT_SAVED,
                                  actor="t", at=state.clock.now())
        assert recorded.seq == stored[0] + 1
        session.rollback()
    with state.sessions.begin() as session:
        session.execute(delete(ChainHead).where(ChainHead.chain == instance_id))
        handed.clear()
        loaded = with_hook.load(session, {"task_id": task_id})
        assert loaded is not None and loaded[0].id == instance_id and handed == []
        session.rollback()


def test_a_locked_read_is_the_first_orm_use_of_a_process(tmp_path: Path) -> None:
    """A worker process may lock a job before any ORM query configured the mappers (their attributes'
    instrumentation): the read configures them itself."""
    script = f"""
from datetime import UTC, datetime
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session
from engine.db import Base
from engine.models import ProcessInstance
from engine.services import execution

db = create_engine("sqlite:///{tmp_path / 'first.sqlite3'}")
Base.metadata.create_all(db)  # Core only: no mapper configured yet
now = datetime(2026, 3, 2, tzinfo=UTC)
with db.begin() as connection:
    connection.execute(insert(ProcessInstance.__table__).values(
        id="i-1", definition_id=1, process_key="p", business_key=None, status="running", state_json="{{}}",
        serializer_version="1", lock_version=3, started_at=now, started_by="x", ended_at=None, updated_at=now))
with Session(db) as session, session.begin():
    print(execution.lock_instance(session, "i-1").lock_version)
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


def test_an_inserted_object_is_the_session_s_clean_copy_of_the_row(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions.begin() as session:
        values = {**_column_values(session.get_one(ProcessInstance, instance_id)), "id": "copy",
                  "business_key": "BK-3", "lock_version": 0}
        session.expunge_all()
        inserted = core_rows.insert_object(session, ProcessInstance, values)
        assert inspect(inserted).persistent and not session.is_modified(inserted) and not session.new
        assert session.get(ProcessInstance, "copy") is inserted and _column_values(inserted) == values
        core_rows.save_instance(session, inserted, {"status": "completed"})  # the version check sees version 0
    with state.sessions() as session:
        assert _column_values(session.get_one(ProcessInstance, "copy")) == {**values, "status": "completed",
                                                                             "lock_version": 1}


def test_a_lookup_by_column_gives_the_object_the_orm_query_gives(
        app: Flask, deploy: Callable[..., DefinitionOut], run_jobs: Callable[..., int]) -> None:
    """`first_by`: the row's values converted as the ORM converts them, a persistent clean object in the identity
    map, None for no row; an object the session holds comes back as it is, a pending change kept (as the ORM's
    query keeps it: no populate_existing), and one not flushed yet is found (autoflush)."""
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:
        orm_task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).first()
        assert orm_task is not None
        task_id, expected = orm_task.id, _column_values(orm_task)
    with state.sessions.begin() as session:
        task = core_rows.first_by(session, HumanTask, "id", task_id)
        assert _column_values(task) == expected and isinstance(task.properties, dict)
        assert task.created_at.tzinfo is not None
        assert inspect(task).persistent and not session.is_modified(task) and session.get(HumanTask, task_id) is task
        assert core_rows.first_by(session, HumanTask, "id", "no such task") is None
        task.name = "pending"
        session.autoflush = False
        assert core_rows.first_by(session, HumanTask, "id", task_id) is task and task.name == "pending"
        session.autoflush = True
        assert core_rows.first_by(session, HumanTask, "name", "pending") is task  # flushed first, then found
    with state.sessions() as session:
        assert session.get_one(HumanTask, task_id).name == "pending"


def test_a_lookup_by_column_is_the_first_orm_use_of_a_process(tmp_path: Path) -> None:
    """As a locked read: the mappers are configured before the object is made."""
    script = f"""
from datetime import UTC, datetime
from sqlalchemy import create_engine, insert
from sqlalchemy.orm import Session
from engine.db import Base
from engine.models import DocumentSequence
from engine.services import core_rows

db = create_engine("sqlite:///{tmp_path / 'first.sqlite3'}")
Base.metadata.create_all(db)
with db.begin() as connection:
    connection.execute(insert(DocumentSequence.__table__).values(series="s", last=7))
with Session(db) as session, session.begin():
    print(core_rows.first_by(session, DocumentSequence, "series", "s").last)
"""
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "7"


def _notice(notice_id: str, **values: object) -> Notice:
    now = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    return Notice(id=notice_id, number=f"呼审受〔2026〕{notice_id}号", kind="acceptance", title="受理通知书",
                  credit_code="91150100MA0000000X", instance_id=None, project_code="P", body="正文",
                  details={"材料": ["申请表"]}, status="pending", created_at=now, job_id=f"job-{notice_id}", **values)


def test_a_new_object_is_stored_as_a_flush_stores_it(app: Flask) -> None:
    """`insert_new`: the row a flush writes (a column's constant default, unset ones NULL), the object persistent
    and clean in the identity map afterwards; an ORM change to it flushes as usual."""
    state = engine_state(app)
    with state.sessions.begin() as session:
        ours = _notice("1")
        core_rows.insert_new(session, ours)
        assert inspect(ours).persistent and not session.is_modified(ours) and not session.new
        assert session.get(Notice, "1") is ours and ours.attempts == 0 and ours.sent_at is None
        flushed = _notice("2")
        session.add(flushed)
        session.flush()
        ours.attempts = 3
    with state.sessions() as session:
        stored = {n.id: _column_values(n) for n in session.scalars(select(Notice))}
        assert stored["1"] == {**stored["2"], "id": "1", "number": "呼审受〔2026〕1号", "job_id": "job-1",
                               "attempts": 3}


def test_a_new_object_whose_key_the_database_makes_is_refused(app: Flask) -> None:
    state = engine_state(app)
    with state.sessions.begin() as session:
        share = EnforcementShare(action="issued", permit_number="N", permit_type="planning", credit_code="C",
                                 project_code="P", instance_id=None, recipients=[], details={},
                                 created_at=datetime(2026, 3, 2, tzinfo=UTC), job_id="job-1")
        with pytest.raises(ValueError, match="seq"):
            core_rows.insert_new(session, share)
        stored = _notice("1")
        core_rows.insert_new(session, stored)
        with pytest.raises(ValueError, match="not a new object"):
            core_rows.insert_new(session, stored)
    with state.sessions() as session:
        assert session.scalars(select(EnforcementShare)).all() == []
        assert [n.id for n in session.scalars(select(Notice))] == ["1"]


def test_a_get_by_key_is_the_session_s_object_or_the_row(app: Flask, deploy: Callable[..., DefinitionOut],
                                                        run_jobs: Callable[..., int]) -> None:
    """`core_rows.get`: what `session.get` gives, the object held (no read) or the row read, None for no row."""
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:
        task_id = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id)).first()
        expected = _column_values(session.get_one(HumanTask, task_id))
    with state.sessions.begin() as session:
        task = core_rows.get(session, HumanTask, task_id)
        assert _column_values(task) == expected and inspect(task).persistent and not session.is_modified(task)
        task.name = "pending"
        session.autoflush = False
        assert core_rows.get(session, HumanTask, task_id) is task and task.name == "pending"
        assert core_rows.get(session, HumanTask, "no such task") is None
        assert core_rows.get(session, DocumentSequence, "no such series") is None  # a str key named otherwise


def test_objects_are_those_the_orm_query_gives_in_its_order(app: Flask, deploy: Callable[..., DefinitionOut],
                                                           run_jobs: Callable[..., int]) -> None:
    """`core_rows.objects` (the open task rows of sla and pauses): the rows of the ORM's query of the same SQL, in
    its order, with the same values; the objects the session holds among them given as they are."""
    from engine.services import sla

    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:
        orm = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                      HumanTask.status == HumanTaskStatus.OPEN)).all()
        expected = [_column_values(task) for task in orm]
    assert len(expected) > 1
    with state.sessions.begin() as session:
        held = session.get_one(HumanTask, expected[1]["id"])
        held.name = "pending"
        session.autoflush = False
        found = sla.open_tasks(session, instance_id)
        assert found[1] is held and held.name == "pending"
        assert [_column_values(task) for task in found] == [expected[0], {**expected[1], "name": "pending"},
                                                            *expected[2:]]
        assert all(inspect(task).persistent for task in found) and not session.is_modified(found[0])
        assert sla.open_tasks(session, "no such instance") == []
