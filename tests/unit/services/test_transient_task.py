"""A new task row built by the command path (execution._transient_task) reads as `HumanTask(**values)` does."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import inspect

from engine.models import HumanTask
from engine.services.execution import _TASK_COLUMNS, _transient_task

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=timezone.utc)
VALUES = dict(id="t1", instance_id="i1", spiff_task_id="s1", bpmn_id="review_1", name="Review", form_key="f",
              lane=None, candidate_groups=["nrp"], properties={"limit_committed_wd": "5"}, assignee=None,
              status="open", created_at=NOW, due_at=None, statutory_due_at=None, paused_on=None, paused_wd=0,
              completed_at=None, completed_by=None)


def test_it_holds_the_values_and_takes_changes_as_the_constructed_object() -> None:
    built, constructed = _transient_task(dict(VALUES)), HumanTask(**VALUES)
    assert set(VALUES) == set(_TASK_COLUMNS)  # every column given: nothing left to a default
    assert {c: getattr(built, c) for c in _TASK_COLUMNS} == {c: getattr(constructed, c) for c in _TASK_COLUMNS}
    built.due_at = constructed.due_at = NOW  # what sla.apply_limits does
    assert built.due_at == constructed.due_at == NOW
    assert inspect(built).transient and inspect(constructed).transient
