"""The locked reads of services/core_rows.py on PostgreSQL: the same objects as the ORM's query (test bodies of
tests/unit/services/test_core_rows.py), and the rows really locked: FOR UPDATE on the instance and the task row."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from engine.config import Settings
from engine.dto import DefinitionOut
from engine.models import ChainHead, HumanTask
from engine.services import execution
from engine.services.human_tasks import _LOCKED_TASK
from tests.conftest import engine_state
from tests.unit.services.test_core_rows import (  # noqa: F401  (collected here again, with this module's fixtures)
    _instance_with_tasks,
    test_a_get_by_key_is_the_session_s_object_or_the_row,
    test_a_locked_read_gives_the_objects_the_orm_query_gives,
    test_a_locked_read_of_no_row_is_none,
    test_a_locked_read_refreshes_the_objects_the_session_holds,
    test_a_lookup_by_column_gives_the_object_the_orm_query_gives,
    test_a_new_object_is_stored_as_a_flush_stores_it,
    test_a_new_object_whose_key_the_database_makes_is_refused,
    test_objects_are_those_the_orm_query_gives_in_its_order,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_settings: Settings) -> Settings:
    return postgres_settings


@pytest.fixture
def app(postgres_app: Flask) -> Flask:
    return postgres_app


def test_a_locked_read_holds_the_instance_and_the_task_row(app: Flask, deploy: Callable[..., DefinitionOut],
                                                           run_jobs: Callable[..., int]) -> None:
    instance_id = _instance_with_tasks(app, deploy, run_jobs)
    state = engine_state(app)
    with state.sessions() as session:
        first, second = session.scalars(select(HumanTask.id).where(HumanTask.instance_id == instance_id)).all()[:2]
    with state.sessions.begin() as holder:
        assert _LOCKED_TASK.load(holder, {"task_id": first}) is not None
        with state.sessions.begin() as other:
            other.execute(text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):  # another task of the same instance
                _LOCKED_TASK.load(other, {"task_id": second})
        with state.sessions.begin() as other:
            other.execute(text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):  # the task row itself, FOR UPDATE
                other.execute(select(HumanTask.id).where(HumanTask.id == first).with_for_update()).all()
        with state.sessions.begin() as other:
            other.execute(text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):
                execution.lock_instance(other, instance_id)
        with state.sessions.begin() as other:
            other.execute(text("SET LOCAL lock_timeout = '100ms'"))
            with pytest.raises(OperationalError, match="lock timeout"):  # the chain head, read with the rows
                other.execute(select(ChainHead.chain).where(ChainHead.chain == instance_id).with_for_update()).all()
    with state.sessions.begin() as session:  # released with the commit
        assert execution.lock_instance(session, instance_id).id == instance_id
