"""The injected "now" seen by SpiffWorkflow internals (timer specs) during one engine step.

Spiff's timers read the wall clock deep inside the library; our timer specs read this instead. It is set by
`runtime` around every call into Spiff, so replay and simulation see the engine's clock, never the machine's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

_NOW: ContextVar[datetime | None] = ContextVar("engine_now", default=None)


def current_now() -> datetime:
    now = _NOW.get()
    if now is None:
        raise RuntimeError("no engine clock in context: call Spiff only through engine.bpmn.runtime")
    return now


@contextmanager
def engine_now(now: datetime) -> Iterator[None]:
    if now.tzinfo is None:
        raise ValueError("naive datetime refused")
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)
