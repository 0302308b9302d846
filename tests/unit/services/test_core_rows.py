"""Core reads and writes of the command path (services/core_rows.py): the rows are written, the session never holds
a stale copy of them, and the instance save keeps the version check the ORM's `version_id_col` did."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm.exc import StaleDataError

from engine.dto import DefinitionOut
from engine.models import HumanTask, HumanTaskStatus, ProcessInstance
from engine.services import core_rows, instances
from engine.services.commands import run_command
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
