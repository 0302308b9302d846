"""Metrics that count only what was committed: an increment made inside a transaction is applied when that
transaction commits and dropped when it rolls back (so a command re-applied after a conflict counts once)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.metrics import LabelledCounter

_PENDING = "engine.metrics.pending"


def count_on_commit(session: Session, counter: LabelledCounter, amount: float = 1.0, **labels: str) -> None:
    session.info.setdefault(_PENDING, []).append((counter, amount, labels))


@event.listens_for(Session, "after_commit")
def _apply(session: Session) -> None:
    for counter, amount, labels in session.info.pop(_PENDING, []):
        counter.inc(amount, **labels)


@event.listens_for(Session, "after_rollback")
def _discard(session: Session) -> None:
    session.info.pop(_PENDING, None)
