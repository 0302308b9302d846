"""Document numbers (engine/bureau/numbering.py): each series counts from 1 without gaps, apart from the others, and
a transaction that rolls back gives its number back."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from engine.bureau.numbering import next_number
from engine.models import DocumentSequence
from tests.conftest import engine_state


def test_each_series_counts_from_one(app: Flask) -> None:
    sessions = engine_state(app).sessions
    with sessions.begin() as session:
        assert [next_number(session, "notice:acceptance:2026") for _ in range(3)] == [1, 2, 3]
        assert next_number(session, "notice:correction:2026") == 1
    with sessions.begin() as session:
        assert next_number(session, "notice:acceptance:2026") == 4
        assert next_number(session, "notice:acceptance:2027") == 1
    with sessions() as session:
        assert dict(session.execute(select(DocumentSequence.series, DocumentSequence.last)).all()) == {
            "notice:acceptance:2026": 4, "notice:correction:2026": 1, "notice:acceptance:2027": 1}


def test_a_rolled_back_number_is_handed_out_again(app: Flask) -> None:
    sessions = engine_state(app).sessions
    with sessions.begin() as session:
        assert next_number(session, "permit:planning:2026") == 1
    with pytest.raises(RuntimeError), sessions.begin() as session:
        assert next_number(session, "permit:planning:2026") == 2
        assert next_number(session, "permit:land_use:2026") == 1
        raise RuntimeError("the permit could not be stored")
    with sessions.begin() as session:
        assert next_number(session, "permit:planning:2026") == 2
        assert next_number(session, "permit:land_use:2026") == 1


def test_the_orm_sees_the_new_number_in_the_same_transaction(app: Flask) -> None:
    """An object of the series loaded before (by anyone's query) is not left stale by the statement."""
    with engine_state(app).sessions.begin() as session:
        next_number(session, "project:2026")
        held = session.get(DocumentSequence, "project:2026")
        assert held is not None and held.last == 1
        assert next_number(session, "project:2026") == 2
        assert held.last == 2 and session.scalars(select(DocumentSequence).where(
            DocumentSequence.series == "project:2026")).one() is held
        assert not session.dirty  # nothing for the flush to write back
