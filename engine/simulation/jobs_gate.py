"""The simulation's worker backend: `LocalBackend`, except that a fetch which cannot find a job answers `[]`
without a claim transaction.

The loop asks for jobs after every timer firing and every answer, and most of those asks find nothing (886 empty
fetches for 276 jobs in `simulate --projects 20`), each a write transaction with a claim statement. A job
becomes claimable only when

- a job row is created or made available again (new job, failed job with a retry, incident retried): every such
  commit notifies `ctx.job_signal`, so its generation moves; or
- the clock reaches an open job's `run_after` (AVAILABLE: a retry's delay) or `lock_expires_at` (LOCKED: an
  expired lock).

So after a claim that found nothing, the backend reads (two index-only minimums) the earliest moment one of the
open jobs could become claimable, and answers `[]` at once while the signal's generation is unchanged and the
clock is before that moment. The one other way a job becomes claimable, an operator resuming a suspended
instance, does not happen in a simulation. The shortcut only ever answers "nothing": every job is still claimed
by `claim`, in the same order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from engine.app_state import AppState
from engine.worker.backends import FetchedJob, LocalBackend, TopicLock


class GatedLocalBackend(LocalBackend):
    """`next_claimable`: the earliest `run_after` of an available job or lock expiry of a locked one (None: no open
    job), read with two index-only minimums (reads.LoopReads.next_claimable)."""

    def __init__(self, state: AppState, *, next_claimable: Callable[[], datetime | None]) -> None:
        super().__init__(state)
        self._next_claimable = next_claimable
        # After an empty claim: (signal generation then, earliest moment an open job can become claimable).
        self._idle: tuple[int, datetime | None] | None = None
        self.skipped = 0  # fetches answered without a claim (tests, profiling)
        self._instances: set[str] = set()  # instances of the jobs fetched since `take_instances`

    def fetch(self, worker: str, topics: Sequence[TopicLock], max_jobs: int, wait: float,
              interrupt: threading.Event | None = None) -> list[FetchedJob]:
        generation, now = self.state.ctx.job_signal.generation, self.state.clock.now()
        if wait <= 0 and self._idle is not None and self._idle[0] == generation and (
                self._idle[1] is None or now < self._idle[1]):
            self.skipped += 1
            return []
        jobs = super().fetch(worker, topics, max_jobs, wait, interrupt)
        self._idle = None if jobs else (generation, self._next_claimable())
        self._instances.update(job.instance_id for job in jobs)
        return jobs

    def take_instances(self) -> set[str]:
        """The instances whose jobs were fetched (and so run and reported) since the last call."""
        taken, self._instances = self._instances, set()
        return taken
