"""The `timers` row mirrors one waiting Spiff timer: due time, calendar, provisional flag, pause and basis.

A frozen timer (its instance's clock is paused) has no `due_at`, so scheduler ticks never scan it. Firings are
counted for the metrics only when their transaction commits (a re-applied command is not counted twice).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from engine import metrics
from engine.bpmn.runtime import WaitingTimer
from engine.models import Timer

_PENDING = "engine_timer_lags"


def mirror(row: Timer, timer: WaitingTimer) -> None:
    # Every waiting row is mirrored after every command and most are unchanged: compare first, because an ORM
    # attribute set marks the row modified even with the same value, and the flush then has to diff it.
    values = {"due_at": None if timer.paused_on is not None else timer.due_at, "calendar": timer.calendar,
              "provisional": timer.provisional, "pausable": timer.pausable, "paused_on": timer.paused_on,
              "basis": timer.basis}
    current = row.__dict__  # the loaded values (a new row has none yet)
    for name, value in values.items():
        if name not in current or current[name] != value:
            setattr(row, name, value)


def fired(session: Session, row: Timer, now: datetime) -> None:
    """Note a firing and its lag (fired - due, engine clock) for the metrics, published on commit."""
    lag = max(0.0, (now - row.due_at).total_seconds()) if row.due_at is not None else None
    session.info.setdefault(_PENDING, []).append(lag)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for lag in session.info.pop(_PENDING, []):
        metrics.TIMERS_FIRED.inc()
        if lag is not None:
            metrics.TIMER_LAG.observe(lag)


@event.listens_for(Session, "after_soft_rollback")
def _discard(session: Session, _previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
