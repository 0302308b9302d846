"""The simulated clock shared through the database (`[clock] mode = "simulated"`, DESIGN.md §6).

Server, scheduler and workers each read the one row of `simulated_time`, so `approvals clock set|advance` moves
time for all of them at once. The time never goes backwards: timers that fired stay fired.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.clock import ensure_aware
from engine.errors import ConfigError, InvalidInput
from engine.models import EventKind, SimulatedTime
from engine.services.context import EngineContext

ROW_ID = 1


class NoSimulatedTime(ConfigError):
    """The simulated clock has no time yet"""


class DatabaseClock:
    """`Clock` reading the shared simulated time (one small query per call)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def now(self) -> datetime:
        with self._sessions() as session:
            value = read(session)
        if value is None:
            raise NoSimulatedTime("the simulated clock has no time yet: run `approvals clock set TIME`")
        return value


def read(session: Session) -> datetime | None:
    return session.scalar(select(SimulatedTime.now).where(SimulatedTime.id == ROW_ID))


def set_time(session: Session, ctx: EngineContext, when: datetime, *, actor: str, wall: datetime) -> datetime:
    """Set the shared time (refused if it would go backwards). `wall` is when the operator acted."""
    from engine.services import execution

    when = ensure_aware(when)
    row = session.scalars(select(SimulatedTime).where(SimulatedTime.id == ROW_ID).with_for_update()).one_or_none()
    previous = row.now if row is not None else None
    if previous is not None and when < previous:
        raise InvalidInput(f"the simulated clock does not go backwards: it is {previous.isoformat()}, "
                           f"refusing {when.isoformat()}")
    if row is None:
        session.add(SimulatedTime(id=ROW_ID, now=when, updated_at=wall, updated_by=actor))
    else:
        row.now, row.updated_at, row.updated_by = when, wall, actor
    execution.record(session, ctx, None, EventKind.CLOCK_SET, actor=actor, now=when,
                     payload={"previous": previous, "now": when})
    session.flush()
    return when


def advance(session: Session, ctx: EngineContext, delta: timedelta, *, actor: str, wall: datetime) -> datetime:
    if delta < timedelta(0):
        raise InvalidInput("the simulated clock does not go backwards")
    current = read(session)
    if current is None:
        raise NoSimulatedTime("the simulated clock has no time yet: run `approvals clock set TIME` first")
    return set_time(session, ctx, current + delta, actor=actor, wall=wall)
