"""Fire due timers: claim a batch, then fire each in its own transaction as a command (DESIGN.md §3.2, §6).

Exactly once on any number of scheduler processes (PostgreSQL): the candidate query is cheap and unlocked (an
index range on (status, due_at) joined to running instances: O(due timers)); each firing then takes the timer row
with `FOR UPDATE SKIP LOCKED` and the instance row with `FOR UPDATE SKIP LOCKED`, re-checks under those locks that
the row is still waiting and due and that Spiff's task is still WAITING, advances the workflow with the tick's
`now` and persists. A row another process holds is skipped (it is being fired, or a clerk's command holds the
instance: the next tick retries); a row fired meanwhile is seen as no longer waiting. Never waiting on a lock
also means no lock-order deadlock with clerk commands (instance first, then timer rows).

On SQLite `BEGIN IMMEDIATE` serializes writers, `FOR UPDATE` is not rendered, and one scheduler process runs.

One failing instance becomes an incident (an `instance:incident` event, the row marked `incident` so ticks stop
retrying it) in a transaction of its own; the other timers of the batch are unaffected.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from engine import metrics
from engine.bpmn import runtime
from engine.errors import EngineError
from engine.models import EventKind, InstanceStatus, ProcessInstance, Timer, TimerStatus
from engine.services import core_rows, execution
from engine.services.commands import is_retryable
from engine.services.context import EngineContext

SCHEDULER_ACTOR = "scheduler"
log = logging.getLogger(__name__)


@dataclass
class FireReport:
    fired: list[str] = field(default_factory=list)  # timer ids fired by this call
    skipped: int = 0  # locked by another process, or no longer waiting
    incidents: list[str] = field(default_factory=list)  # timer ids that failed

    @property
    def candidates(self) -> int:
        return len(self.fired) + self.skipped + len(self.incidents)


# Built once (building the select cost more than running it); `now` and `batch` are bound per tick.
_DUE_CANDIDATES = (
    select(Timer.id, Timer.instance_id)
    .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
    .where(Timer.status == TimerStatus.WAITING, Timer.due_at <= bindparam("now", type_=Timer.__table__.c.due_at.type),
           ProcessInstance.status == InstanceStatus.RUNNING)
    .order_by(Timer.due_at)
    .limit(bindparam("batch", type_=Integer))
)


def due_candidates(session: Session, now: datetime, batch: int) -> list[tuple[str, str]]:
    """(timer id, instance id) of due waiting timers of running instances, oldest due first."""
    rows = core_rows.read(session, _DUE_CANDIDATES, {"now": now, "batch": batch}).all()
    return [(r[0], r[1]) for r in rows]


def fire_one(session: Session, ctx: EngineContext, timer_id: str, now: datetime, *,
             actor: str = SCHEDULER_ACTOR) -> bool:
    """Fire one timer if it is still waiting and due; False if another process has it or it is gone."""
    timer = session.scalars(
        select(Timer).where(Timer.id == timer_id).with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if timer is None or timer.status != TimerStatus.WAITING or timer.due_at is None or timer.due_at > now:
        return False
    instance = session.scalars(
        select(ProcessInstance).where(ProcessInstance.id == timer.instance_id)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)
    ).one_or_none()
    if instance is None or instance.status != InstanceStatus.RUNNING:
        return False
    loaded = execution.load(session, ctx, instance)
    if runtime.task_state(loaded.workflow, timer.spiff_task_id) != "WAITING":
        # The row lags the state (e.g. an incident repaired by hand): resync it without firing anything.
        execution.persist(session, ctx, loaded, runtime.snapshot(loaded.workflow), actor=actor, now=now)
        return False
    result = runtime.advance(loaded.workflow, now)
    execution.persist(session, ctx, loaded, result, actor=actor, now=now)
    return True


def _incident(sessions: sessionmaker[Session], ctx: EngineContext, timer_id: str, instance_id: str,
              error: BaseException, now: datetime) -> None:
    detail = error.detail if isinstance(error, EngineError) else f"{type(error).__name__}: {error}"
    with sessions.begin() as session:
        timer = session.get(Timer, timer_id)
        instance = execution.lock_instance(session, instance_id)
        if timer is None or timer.status != TimerStatus.WAITING:
            return
        timer.status = TimerStatus.INCIDENT
        # A new version: a workflow cached at the old one carries its waiting timer rows, this one among them
        # (execution._KEPT_ROWS), and must not be taken again.
        core_rows.save_instance(session, instance, {"updated_at": now})
        execution.record(session, ctx, instance_id, EventKind.INSTANCE_INCIDENT, actor=SCHEDULER_ACTOR, now=now,
                         payload={"timer_id": timer_id, "bpmn_id": timer.bpmn_id, "error": detail[:2000]})


def fire_due(sessions: sessionmaker[Session], ctx: EngineContext, now: datetime, batch: int = 100) -> FireReport:
    """One tick: fire up to `batch` due timers, each in its own transaction."""
    metrics.TIMER_TICKS.inc()
    report = FireReport()
    with sessions() as session:
        candidates = due_candidates(session, now, batch)
    for timer_id, instance_id in candidates:
        try:
            with sessions.begin() as session:
                done = fire_one(session, ctx, timer_id, now)
        except Exception as exc:  # a boundary: one instance's failure must not stop the others
            if is_retryable(exc):
                report.skipped += 1  # a conflicting command won; the next tick sees the new state
                continue
            log.exception("timer firing failed", extra={"instance_id": instance_id, "timer_id": timer_id})
            try:
                _incident(sessions, ctx, timer_id, instance_id, exc, now)
            except Exception:
                log.exception("could not record the incident", extra={"instance_id": instance_id})
                continue
            metrics.TIMER_INCIDENTS.inc()
            report.incidents.append(timer_id)
            continue
        if done:
            report.fired.append(timer_id)
        else:
            report.skipped += 1
    return report
