"""How replay treats each history event kind: a small registry that other features plug their kinds into.

Every kind is one of:
- **command**: the event is the recorded input of a command (`task:completed` with the form data). Its handler
  re-runs that command in the replay's scratch database through the same service the engine used, with the
  recorded actor, time and input (ids translated to the replay's own);
- **implicit**: the command recorded no input event of its own, only consequences (a timer tick writes
  `instance:advanced … timer:fired`). A segment of events that starts with no command kind is handed to the
  handler of the first implicit kind found in it;
- **noted**: written by something replay need not or cannot repeat (drafts, a crashed tick's incident); skipped
  on both sides;
- anything else is a **consequence**: the replayed command must write the same event (kind, actor, time and
  payload, ids mapped) in the same order, or replay names it as the first difference.

To plug a new kind in (README "Replay"): write `def handler(step: ReplayStep) -> None` that calls your service
inside `step.run(...)` with `step.event.actor`, `step.event.at` and the payload (translate ids with
`step.scratch_id(...)`), and register it with `@REGISTRY.command("my:kind")` (or `implicit` / `note`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from engine.errors import EngineError

if TYPE_CHECKING:
    from engine.models import InstanceEvent
    from engine.services.replay import ReplayRun

T = TypeVar("T")


class ReplayInputMissing(EngineError):
    """Replay cannot re-run a recorded command"""

    status = 422


@dataclass
class ReplayStep:
    """One command to re-run: its events as recorded, and the run it belongs to."""

    run: ReplayRun
    segment: list[InstanceEvent]
    event: InstanceEvent  # the event that names the command (its input, or the implicit kind found)

    @property
    def payload(self) -> dict[str, Any]:
        return self.event.payload or {}

    @property
    def at(self) -> datetime:
        return self.event.at

    @property
    def actor(self) -> str:
        return self.event.actor

    def scratch_id(self, recorded_id: Any) -> str:
        """The replay's id for an id the recorded history used (bound when their creating events matched)."""
        return self.run.ids.forward(str(recorded_id))

    def run_in_scratch(self, fn: Callable[[Session], T]) -> T:
        with self.run.scratch.sessions.begin() as session:
            return fn(session)

    def require(self, key: str) -> Any:
        if key not in self.payload:
            raise ReplayInputMissing(f"event #{self.event.seq} ({self.event.kind}) has no '{key}' in its payload")
        return self.payload[key]


Handler = Callable[[ReplayStep], None]


@dataclass
class KindRegistry:
    commands: dict[str, Handler] = field(default_factory=dict)
    implicit: dict[str, Handler] = field(default_factory=dict)
    noted: set[str] = field(default_factory=set)

    def command(self, kind: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._unique(kind)
            self.commands[kind] = fn
            return fn
        return register

    def implicit_command(self, kind: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._unique(kind)
            self.implicit[kind] = fn
            return fn
        return register

    def note(self, *kinds: str) -> None:
        for kind in kinds:
            self._unique(kind)
            self.noted.add(kind)

    def _unique(self, kind: str) -> None:
        if kind in self.commands or kind in self.implicit or kind in self.noted:
            raise ValueError(f"event kind {kind!r} is already registered for replay")

    def role(self, kind: str) -> str:
        if kind in self.commands:
            return "command"
        if kind in self.implicit:
            return "implicit"
        if kind in self.noted:
            return "noted"
        return "consequence"


REGISTRY = KindRegistry()

# Drafts change no state; a crashed timer tick's incident cannot be re-crashed; claims write no history.
REGISTRY.note("task:draft_saved", "job:claimed")
# The applicants' portal (issue 8) records signatures and uploads beside the process; neither changes its state.
REGISTRY.note("commitment:signed", "document:uploaded")


# --- instances ---------------------------------------------------------------------------------------------------

@REGISTRY.command("instance:started")
def _started(step: ReplayStep) -> None:
    from engine.services import instances

    p = step.payload
    out = step.run_in_scratch(lambda s: instances.start(
        s, step.run.ctx, str(step.require("key")), dict(p.get("variables") or {}), actor=step.actor, now=step.at,
        business_key=p.get("business_key")))
    step.run.ids.bind(step.run.instance_id, out.id)
    step.run.scratch_instance_id = out.id


@REGISTRY.command("instance:suspended")
def _suspended(step: ReplayStep) -> None:
    _set_suspended(step, True)


@REGISTRY.command("instance:resumed")
def _resumed(step: ReplayStep) -> None:
    _set_suspended(step, False)


def _set_suspended(step: ReplayStep, suspended: bool) -> None:
    from engine.services import instances

    step.run_in_scratch(lambda s: instances.set_suspended(
        s, step.run.ctx, step.run.require_instance(), suspended, actor=step.actor, now=step.at,
        reason=str(step.payload.get("reason") or "")))


@REGISTRY.command("instance:terminated")
def _terminated(step: ReplayStep) -> None:
    from engine.services import instances

    step.run_in_scratch(lambda s: instances.terminate(
        s, step.run.ctx, step.run.require_instance(), actor=step.actor, now=step.at,
        reason=str(step.payload.get("reason") or "")))


# --- clerks' tasks -----------------------------------------------------------------------------------------------

@REGISTRY.command("task:completed")
def _task_completed(step: ReplayStep) -> None:
    from engine.services import human_tasks

    task_id = step.scratch_id(step.require("task_id"))
    step.run_in_scratch(lambda s: human_tasks.complete(s, step.run.ctx, task_id, dict(step.payload.get("data") or {}),
                                                       actor=step.actor, now=step.at))


@REGISTRY.command("task:claimed")
def _task_claimed(step: ReplayStep) -> None:
    from engine.services import human_tasks

    task_id = step.scratch_id(step.require("task_id"))
    step.run_in_scratch(lambda s: human_tasks.claim(s, step.run.ctx, task_id, actor=step.actor, now=step.at,
                                                    assignee=step.payload.get("assignee")))


@REGISTRY.command("task:unclaimed")
def _task_unclaimed(step: ReplayStep) -> None:
    from engine.services import human_tasks

    task_id = step.scratch_id(step.require("task_id"))
    step.run_in_scratch(lambda s: human_tasks.unclaim(s, step.run.ctx, task_id, actor=step.actor, now=step.at))


@REGISTRY.command("task:transferred")
def _task_transferred(step: ReplayStep) -> None:
    from engine.services import human_tasks

    task_id = step.scratch_id(step.require("task_id"))
    step.run_in_scratch(lambda s: human_tasks.transfer(s, step.run.ctx, task_id, str(step.require("to")),
                                                       actor=step.actor, now=step.at,
                                                       reason=str(step.payload.get("reason") or "")))


# --- workers' jobs ----------------------------------------------------------------------------------------------

def _hold_job(session: Session, step: ReplayStep) -> str:
    """Claims write no history: give the replayed job the lock the worker held when it reported."""
    from engine.models import ServiceJob, ServiceJobStatus

    job_id = step.scratch_id(step.require("job_id"))
    job = session.get(ServiceJob, job_id)
    if job is None:
        raise ReplayInputMissing(f"event #{step.event.seq}: the replay has no job for {step.payload['job_id']}")
    job.status, job.lock_owner = ServiceJobStatus.LOCKED, str(step.require("worker"))
    job.lock_expires_at = step.at + timedelta(minutes=5)
    if isinstance(step.payload.get("attempt"), int):
        job.attempts = step.payload["attempt"]
    session.flush()
    return job_id


@REGISTRY.command("job:completed")
def _job_completed(step: ReplayStep) -> None:
    from engine.services import jobs

    def apply(session: Session) -> None:
        job_id = _hold_job(session, step)
        jobs.complete(session, step.run.ctx, job_id, dict(step.payload.get("variables") or {}),
                      worker=str(step.payload["worker"]), actor=step.actor, now=step.at)

    step.run_in_scratch(apply)


@REGISTRY.command("job:bpmn_error")
def _job_bpmn_error(step: ReplayStep) -> None:
    from engine.services import jobs

    def apply(session: Session) -> None:
        job_id = _hold_job(session, step)
        jobs.bpmn_error(session, step.run.ctx, job_id, str(step.require("code")),
                        message=str(step.payload.get("message") or ""),
                        variables=dict(step.payload.get("variables") or {}), worker=str(step.payload["worker"]),
                        actor=step.actor, now=step.at)

    step.run_in_scratch(apply)


@REGISTRY.command("job:failed")
def _job_failed(step: ReplayStep) -> None:
    from engine.services import jobs

    retry_at = step.payload.get("retry_at")
    delay = datetime.fromisoformat(retry_at) - step.at if isinstance(retry_at, str) else None

    def apply(session: Session) -> None:
        job_id = _hold_job(session, step)
        jobs.fail(session, step.run.ctx, job_id, worker=str(step.payload["worker"]), actor=step.actor,
                  now=step.at, error_message=str(step.require("error_message")),
                  retries=step.payload.get("retries"), retry_delay=delay)

    step.run_in_scratch(apply)


@REGISTRY.command("job:retried")
def _job_retried(step: ReplayStep) -> None:
    from engine.services import incidents

    incident_id = step.scratch_id(step.require("incident_id"))
    step.run_in_scratch(lambda s: incidents.retry(s, step.run.ctx, incident_id,
                                                  retries=int(step.payload.get("retries") or 1), actor=step.actor,
                                                  now=step.at))


# --- timers and calendar loads ----------------------------------------------------------------------------------

@REGISTRY.implicit_command("timer:fired")
def _timer_tick(step: ReplayStep) -> None:
    from engine.services import timers

    timer_id = step.scratch_id(step.require("timer_id"))
    step.run_in_scratch(lambda s: timers.fire_one(s, step.run.ctx, timer_id, step.at, actor=step.actor))


def _calendar_load(step: ReplayStep) -> None:
    # The load itself is on the system chain; replay applies every load up to this instant, in order.
    step.run.apply_calendar_loads(step.at, inclusive=True)


REGISTRY.implicit_command("timer:rescheduled")(_calendar_load)
REGISTRY.implicit_command("timer:fired_early")(_calendar_load)


@REGISTRY.implicit_command("instance:incident")
def _incident(step: ReplayStep) -> None:
    """A tick that crashed: nothing to re-run (the crash is not part of the state); its event is expected as is."""
    step.run.accept_as_recorded = True


# Designers' migrations (issue 11) register their kind in their own module.
from engine.services import migration_replay  # noqa: E402,F401
