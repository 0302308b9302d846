"""The simulation loop's own reads, on a read-only sqlite3 connection of their own.

Why: the loop asks for the next timer's due after every command (twice per planning round), and which tasks opened
in the instances commands touched. Through SQLAlchemy (a pooled connection, its events, the result object) each of
these index-only reads cost ~210 us against ~10 us in sqlite3 itself: ~5% of `simulate --projects 100` (py-spy).
A simulation's database is always a SQLite file (runner.simulation_settings) written by this one process, one
transaction at a time, so a second connection that only reads sees every committed command. Values come back
through the columns' own result processors (aware UTC datetimes, decoded JSON), as SQLAlchemy gives them;
tests/simulation/test_shortcuts.py runs a simulation with SQLAlchemy's reads and compares every figure.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Dialect

from engine.models import HumanTask, HumanTaskStatus, ServiceJobStatus, Timer, TimerStatus

_NEXT_DUE = "SELECT min(due_at) FROM timers WHERE status = ? AND due_at IS NOT NULL"
# Two index-only minimums: when an open job can next become claimable (jobs_gate.py).
_NEXT_CLAIMABLE = ("SELECT (SELECT min(run_after) FROM service_jobs WHERE status = ?), "
                   "(SELECT min(lock_expires_at) FROM service_jobs WHERE status = ?)")
_NEW_TASKS = ("SELECT id, instance_id, bpmn_id, form_key, properties, created_at, rowid FROM human_tasks "
              "WHERE status = ? AND created_at >= ? AND instance_id IN ({})")
_TIMER_INSTANCES = "SELECT DISTINCT instance_id FROM timers WHERE id IN ({})"

NewTask = namedtuple("NewTask", "id instance_id bpmn_id form_key properties created_at rowid")


def _marks(count: int) -> str:
    return ",".join("?" * count)


class LoopReads:
    def __init__(self, database: Path, dialect: Dialect) -> None:
        self._db = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)

        def processors(column: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
            kind = column.type.dialect_impl(dialect)  # with the dialect's own processing (SQLite: text)
            bind = kind.bind_processor(dialect) or (lambda value: value)
            result = kind.result_processor(dialect, None) or (lambda value: value)
            return bind, result

        self._when_in, self._when_out = processors(Timer.__table__.c.due_at)  # every datetime column: UTCDateTime
        self._json_out = processors(HumanTask.__table__.c.properties)[1]

    def close(self) -> None:
        self._db.close()

    def _when(self, value: str | None) -> datetime | None:
        return None if value is None else self._when_out(value)

    def next_due(self) -> datetime | None:
        """The earliest due of a waiting timer (a frozen one has none)."""
        return self._when(self._db.execute(_NEXT_DUE, (TimerStatus.WAITING.value,)).fetchone()[0])

    def next_claimable(self) -> datetime | None:
        """The earliest `run_after` of an available job or lock expiry of a locked one (None: no open job)."""
        times = self._db.execute(_NEXT_CLAIMABLE, (ServiceJobStatus.AVAILABLE.value,
                                                   ServiceJobStatus.LOCKED.value)).fetchone()
        return min((self._when(t) for t in times if t is not None), default=None)

    def new_tasks(self, instances: Sequence[str], since: datetime) -> list[NewTask]:
        """The open tasks of `instances` created at or after `since`."""
        rows = self._db.execute(_NEW_TASKS.format(_marks(len(instances))),
                                (HumanTaskStatus.OPEN.value, self._when_in(since), *instances)).fetchall()
        return [NewTask(task_id, instance_id, bpmn_id, form_key, self._json_out(properties), self._when(created),
                        rowid)
                for task_id, instance_id, bpmn_id, form_key, properties, created, rowid in rows]

    def timer_instances(self, timer_ids: Sequence[str]) -> set[str]:
        return {row[0] for row in self._db.execute(_TIMER_INSTANCES.format(_marks(len(timer_ids))), tuple(timer_ids))}

