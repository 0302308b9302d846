"""Fetch-and-lock with long polling: claim now, or wait (bounded) until a job shows up.

Each claim is its own short transaction (like `commands.run_command`), so a waiting poll holds no lock and no
connection. Between claims it sleeps on the process's `JobSignal` (woken by local job creation) for at most
`poll_interval` seconds, which also bounds how late it sees jobs created by other processes. The claim is a single
statement, so on PostgreSQL it runs in autocommit: the statement is its own transaction, without the BEGIN and
COMMIT round trips (two of a claim's four).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from engine.dto import JobOut
from engine.services.commands import run_command
from engine.services.context import EngineContext
from engine.services.jobs import TopicRequest, claim


def fetch_and_lock(sessions: sessionmaker[Session], ctx: EngineContext, now: Callable[[], datetime],
                   topics: Sequence[TopicRequest], *, worker: str, max_jobs: int, wait: float,
                   poll_interval: float, interrupt: threading.Event | None = None) -> list[JobOut]:
    """Claimed jobs, or [] after `wait` seconds (0: answer at once) or once `interrupt` is set."""
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        generation = ctx.job_signal.generation
        jobs = run_command(sessions, lambda s: _claim(s, ctx, topics, worker=worker, max_jobs=max_jobs, now=now()))
        remaining = deadline - time.monotonic()
        if jobs or remaining <= 0 or (interrupt is not None and interrupt.is_set()):
            return jobs
        ctx.job_signal.wait(generation, min(poll_interval, remaining))


def _claim(session: Session, ctx: EngineContext, topics: Sequence[TopicRequest], *, worker: str, max_jobs: int,
           now: datetime) -> list[JobOut]:
    if session.get_bind().dialect.name == "postgresql":
        # Before the session takes its connection; the pool resets the isolation level when it is returned.
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return claim(session, ctx, topics, worker=worker, max_jobs=max_jobs, now=now)
