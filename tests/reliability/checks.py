"""After a crash campaign: drain what is left, then prove nothing was lost and nothing happened twice.

- every command a client saw acknowledged is in the history, exactly once, with the data the client sent;
- no service-task effect happened twice: one job per service-task activation, one `job:completed` per job, every
  completed job backed by exactly one effect (keyed by its job id) and every effect by a completed job;
- no task both completed and cancelled, no timer fired twice;
- `approvals replay --all --verify` and `approvals audit verify` pass;
- nothing is stuck: every instance completed, no open job, waiting timer or incident.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.app_state import AppState, build_state
from engine.models import (
    HumanTask,
    HumanTaskStatus,
    Incident,
    InstanceEvent,
    InstanceStatus,
    ProcessInstance,
    ServiceJob,
    ServiceJobStatus,
    Timer,
    TimerStatus,
)
from tests.reliability import effects
from tests.reliability.cluster import CLERK, Cluster
from tests.reliability.ledger import APPROVE, Driver, Ledger


@dataclass(frozen=True)
class Figures:
    kills: int
    projects: int
    acknowledged: int
    refused: int
    repeats: int
    busy: int
    instances: int
    handler_runs: int
    redelivered_runs: int
    effects: int
    duplicate_effects: int
    timers_fired: int
    replay: str
    audit: str

    def line(self) -> str:
        return (f"kills survived {self.kills}; projects {self.projects}, instances {self.instances}; acknowledged "
                f"commands checked {self.acknowledged} (409 {self.refused}, repeated {self.repeats}, 503 {self.busy});"
                f" handler runs {self.handler_runs} (redelivered {self.redelivered_runs}), effects {self.effects}, "
                f"duplicate effects {self.duplicate_effects}; timers fired {self.timers_fired}; "
                f"replay: {self.replay}; audit: {self.audit}")


def _pending(session: Session) -> dict[str, int]:
    def count(model: Any, *where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    return {
        "running instances": count(ProcessInstance, ProcessInstance.status == InstanceStatus.RUNNING),
        "open jobs": count(ServiceJob, ServiceJob.status.in_([ServiceJobStatus.AVAILABLE, ServiceJobStatus.LOCKED])),
        "waiting timers": count(Timer, Timer.status == TimerStatus.WAITING),
        "open tasks": count(HumanTask, HumanTask.status == HumanTaskStatus.OPEN),
    }


def drain(cluster: Cluster, driver: Driver, timeout: float = 120) -> AppState:
    """With every process up again: finish the open tasks (unacknowledged starts included) and wait until the
    scheduler and workers have nothing left. Returns a state on the database for the checks."""
    state = build_state(cluster.settings)
    deadline = time.monotonic() + timeout
    pending: dict[str, int] = {}
    while time.monotonic() < deadline:
        with state.sessions() as session:
            pending = _pending(session)
            open_tasks = list(session.execute(select(HumanTask.id, HumanTask.instance_id)
                                              .where(HumanTask.status == HumanTaskStatus.OPEN)))
        if not any(pending.values()):
            return state
        for task_id, instance_id in open_tasks:
            driver.complete(instance_id, task_id, APPROVE)
        time.sleep(0.3)  # multi-process: let the scheduler and workers work, poll with a deadline
    raise AssertionError(f"stuck after {timeout}s: {pending}\n{cluster.logs()}")


def _events(session: Session) -> list[InstanceEvent]:
    return list(session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id.is_not(None))
                                .order_by(InstanceEvent.chain, InstanceEvent.seq)))


def check_acknowledged(session: Session, ledger: Ledger) -> None:
    events = _events(session)
    started = {e.instance_id: e for e in events if e.kind == "instance:started"}
    completions: dict[str, list[InstanceEvent]] = defaultdict(list)
    for e in events:
        if e.kind == "task:completed":
            completions[e.payload["task_id"]].append(e)
    lost = []
    for ack in ledger.acks:
        if ack.kind == "start":
            event = started.get(ack.instance_id)
            if event is None or event.payload.get("business_key") != ack.business_key \
                    or event.payload.get("variables") != ack.data or event.actor != CLERK:
                lost.append(f"acknowledged start of {ack.instance_id} ({ack.business_key}) not in the history")
        else:
            found = completions.get(ack.task_id or "", [])
            if len(found) != 1 or found[0].payload.get("data") != ack.data or found[0].actor != CLERK \
                    or found[0].instance_id != ack.instance_id:
                lost.append(f"acknowledged completion of task {ack.task_id}: {len(found)} matching events")
    assert not lost, "\n".join(lost[:20])
    twice = [task for task, found in completions.items() if len(found) > 1]
    assert not twice, f"tasks completed twice: {twice[:10]}"


def check_once(session: Session, log: effects.EffectLog) -> tuple[int, int]:
    """No effect twice, no task both completed and cancelled, no timer fired twice. Returns (duplicates, timers
    fired); asserts duplicates == 0 after counting them all."""
    events = _events(session)
    jobs = list(session.scalars(select(ServiceJob)))
    per_activation = Counter((j.instance_id, j.bpmn_id) for j in jobs)
    job_completions = Counter(e.payload["job_id"] for e in events if e.kind == "job:completed")
    completed_jobs = {j.id: j for j in jobs if j.status == ServiceJobStatus.COMPLETED}
    problems = [f"{n} jobs for one activation {key}" for key, n in per_activation.items() if n > 1]
    problems += [f"job {job} completed {n} times in history" for job, n in job_completions.items() if n > 1]
    problems += [f"instance {i}: {len(jobs_)} permits {jobs_}"
                 for (i, _b), jobs_ in log.activations_with_several_effects().items()]
    results = {e.payload["job_id"]: e.payload.get("variables") or {} for e in events if e.kind == "job:completed"}
    for job_id in completed_jobs:
        effect = log.effects.get(job_id)
        if effect is None or effect[2] != results.get(job_id, {}).get("permit_no"):
            problems.append(f"completed job {job_id} has no matching effect ({effect})")
    problems += [f"effect of job {job_id} but the job is not completed" for job_id in log.effects
                 if job_id not in completed_jobs]
    by_task: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.kind in ("task:completed", "task:cancelled"):
            by_task[e.payload["task_id"]].add(e.kind)
    problems += [f"task {task} both completed and cancelled" for task, kinds in by_task.items() if len(kinds) > 1]
    fired = Counter(e.payload["timer_id"] for e in events if e.kind == "timer:fired")
    problems += [f"timer {timer} fired {n} times" for timer, n in fired.items() if n > 1]
    assert not problems, "\n".join(problems[:20]) + _story(events, jobs, [i for (i, _b), n in per_activation.items()
                                                                      if n > 1])
    return len(problems), sum(fired.values())


def _story(events: list[InstanceEvent], jobs: list[ServiceJob], instance_ids: list[str]) -> str:
    """What happened to the instances a check names: their events and jobs, for the failure message."""
    lines = []
    for instance_id in instance_ids[:3]:
        lines.append(f"\n--- instance {instance_id}")
        lines += [f"  #{e.seq} {e.kind} {e.at.isoformat()} {e.actor} "
                  f"{ {k: v for k, v in e.payload.items() if k in ('job_id', 'bpmn_id', 'task_id', 'worker')} }"
                  for e in events if e.instance_id == instance_id]
        lines += [f"  job {j.id} {j.status} created {j.created_at.isoformat()} attempts {j.attempts} "
                  f"finished_by {j.finished_by}" for j in jobs if j.instance_id == instance_id]
    return "\n".join(lines)


def check_nothing_stuck(session: Session) -> int:
    pending = _pending(session)
    assert not any(pending.values()), pending
    incidents = list(session.scalars(select(Incident)))
    assert not incidents, [(i.kind, i.bpmn_id, i.message[:200]) for i in incidents]
    statuses = Counter(session.scalars(select(ProcessInstance.status)))
    assert set(statuses) == {InstanceStatus.COMPLETED}, statuses
    return sum(statuses.values())


def verify(cluster: Cluster, state: AppState, ledger: Ledger, driver: Driver, kills: int) -> Figures:
    assert not ledger.findings, "\n".join(ledger.findings[:20])
    log = effects.read(cluster.effects_path)
    with state.sessions() as session:
        check_acknowledged(session, ledger)
        duplicates, timers_fired = check_once(session, log)
        instances = check_nothing_stuck(session)
    state.db_engine.dispose()
    replay = cluster.cli("replay", "--all", "--verify")
    assert replay.returncode == 0, replay.stdout[-3000:] + replay.stderr[-3000:]
    audit = cluster.cli("audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    return Figures(kills=kills, projects=driver.projects, acknowledged=len(ledger.acks), refused=ledger.refused,
                   repeats=ledger.repeats, busy=ledger.busy, instances=instances, handler_runs=len(log.calls),
                   redelivered_runs=log.repeated_calls, effects=len(log.effects), duplicate_effects=duplicates,
                   timers_fired=timers_fired, replay=replay.stdout.strip().splitlines()[-1],
                   audit=audit.stdout.strip())
