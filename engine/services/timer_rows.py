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


# The columns that mirror the Spiff timer (read by the command path's sync, compared, written when changed).
MIRRORED = (Timer.due_at, Timer.calendar, Timer.provisional, Timer.pausable, Timer.paused_on, Timer.basis)


def mirrored(timer: WaitingTimer) -> dict[str, Any]:
    """The mirrored columns' values for `timer` (a frozen timer has no due_at, so ticks never scan it)."""
    return {"due_at": None if timer.paused_on is not None else timer.due_at, "calendar": timer.calendar,
            "provisional": timer.provisional, "pausable": timer.pausable, "paused_on": timer.paused_on,
            "basis": timer.basis}


def changes(row: Any, timer: WaitingTimer) -> dict[str, Any]:
    """The mirrored values that differ from the stored `row` (it has the MIRRORED columns as attributes). Every
    waiting row is mirrored after every command and most are unchanged: those are not written at all."""
    return {name: value for name, value in mirrored(timer).items() if getattr(row, name) != value}


def fired(session: Session, due_at: datetime | None, now: datetime) -> None:
    """Note a firing and its lag (fired - due, engine clock) for the metrics, published on commit."""
    lag = max(0.0, (now - due_at).total_seconds()) if due_at is not None else None
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
