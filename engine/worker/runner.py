"""`WorkerRunner`: fetch-and-lock jobs for the routers' topics, run their handlers, report the outcome.

In process (`approvals serve`, tests, benchmarks) it calls the services; with a URL it calls the HTTP API
(`approvals worker --url`). Up to `concurrency` handlers run at once. SIGTERM/SIGINT (or `stop()`) stop the
fetching; handlers already running and jobs already locked are finished and reported before `run()` returns.
A report that cannot reach the engine is retried a few times; after that the job's lock expires and the job
runs again elsewhere — handlers see the same `job_id` (at-least-once with an idempotency key).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import signal
import socket
import threading
import time
import traceback
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any

from engine.config import Settings
from engine.worker.backends import (
    Backend,
    EngineUnavailable,
    FetchedJob,
    HttpBackend,
    LocalBackend,
    ReportRejected,
    TopicLock,
)
from engine.worker.router import BpmnError, Handler, JobContext, RetryPolicy, TaskRouter

log = logging.getLogger(__name__)
REPORT_ATTEMPTS = 5
MAX_DETAILS = 16_000


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class WorkerRunner:
    def __init__(self, settings: Settings, routers: Iterable[TaskRouter], *, backend: Backend | None = None,
                 url: str | None = None, topics: Iterable[str] | None = None, deps: Any = None,
                 worker_id: str | None = None, concurrency: int | None = None, state: Any = None) -> None:
        combined = TaskRouter()
        for router in routers:
            combined.include_router(router)  # DuplicateTopic across modules too
        patterns = list(topics) if topics is not None else list(settings.workers.topics)
        self.handlers: dict[str, Handler] = {
            h.topic: h for h in combined if any(fnmatch.fnmatchcase(h.topic, p) for p in patterns)}
        if not self.handlers:
            raise ValueError(f"no handler serves the topics {', '.join(patterns)} "
                             f"(handlers exist for: {', '.join(combined.topics) or 'none'})")
        self.settings = settings
        self.deps = deps
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = max(1, concurrency or settings.workers.concurrency)
        self.default_policy = RetryPolicy(retries=settings.workers.retries,
                                          initial_delay=timedelta(seconds=settings.workers.retry_delay_seconds),
                                          backoff=1.0,
                                          max_delay=timedelta(seconds=settings.workers.retry_delay_seconds))
        if backend is None:
            if url:
                backend = HttpBackend(url, token=settings.workers.token)
            else:
                from engine.app_state import build_state

                backend = LocalBackend(state or build_state(settings))
        self.backend = backend
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def topics(self) -> list[str]:
        return sorted(self.handlers)

    def _topic_locks(self) -> list[TopicLock]:
        default = timedelta(seconds=self.settings.workers.lock_seconds)
        return [TopicLock(h.topic, h.lock_duration or default) for h in self.handlers.values()]

    # -- running -----------------------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM/SIGINT or `stop()`; then finish what is running and return."""
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, self._on_signal)
        self._loop()

    def start(self) -> None:
        """Serve in a background thread (embedded mode); `stop()` ends it."""
        self._thread = threading.Thread(target=self._loop, name=f"worker-{self.worker_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info("worker %s: %s received, finishing running jobs", self.worker_id, signal.Signals(signum).name)
        self._stop.set()

    def _loop(self) -> None:
        log.info("worker %s serving topics %s", self.worker_id, ", ".join(self.topics))
        topics = self._topic_locks()
        backoff = 0.5
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="job") as pool:
            running: set[Future[str]] = set()
            while not self._stop.is_set():
                if len(running) >= self.concurrency:
                    done, running = wait(running, timeout=1.0, return_when=FIRST_COMPLETED)
                    continue
                try:
                    jobs = self.backend.fetch(self.worker_id, topics, self.concurrency - len(running),
                                              self.settings.workers.long_poll_seconds, interrupt=self._stop)
                    backoff = 0.5
                except (EngineUnavailable, PermissionError) as exc:
                    log.warning("worker %s: fetch failed (%s); retrying in %.1fs", self.worker_id, exc, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                except Exception:  # noqa: BLE001 (e.g. the database restarting: keep serving, loudly)
                    log.exception("worker %s: fetch failed; retrying in %.1fs", self.worker_id, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
                for job in jobs:  # claimed: run them even if stopping
                    future = pool.submit(self.process, job)
                    future.add_done_callback(self._log_crash)
                    running.add(future)
                running = {f for f in running if not f.done()}
            if running:
                log.info("worker %s: waiting for %d running job(s)", self.worker_id, len(running))
        log.info("worker %s stopped", self.worker_id)

    def _log_crash(self, future: Future[str]) -> None:
        if future.exception() is not None:
            log.error("worker %s: a job crashed the runner; its lock will expire", self.worker_id,
                      exc_info=future.exception())

    def run_until_idle(self, *, max_jobs: int = 100_000) -> int:
        """Fetch and run jobs one after another until none is claimable now; return how many ran (tests, bench)."""
        topics, count = self._topic_locks(), 0
        while count < max_jobs:
            jobs = self.backend.fetch(self.worker_id, topics, min(self.concurrency, max_jobs - count), 0.0)
            if not jobs:
                break
            for job in jobs:
                self.process(job)
                count += 1
        return count

    # -- one job -----------------------------------------------------------------------------------------------

    def process(self, job: FetchedJob) -> str:
        """Run the job's handler and report the outcome; return "completed", "bpmn_error", "failed" or
        "rejected" (the engine no longer wants this report)."""
        handler = self.handlers.get(job.topic)
        extra = {"job_id": job.id, "instance_id": job.instance_id, "bpmn_id": job.bpmn_id, "topic": job.topic}
        ctx = JobContext(job_id=job.id, topic=job.topic, instance_id=job.instance_id, bpmn_id=job.bpmn_id,
                         business_key=job.business_key, retries=job.retries, failures=job.failures,
                         attempt=job.attempts,
                         lock_expires_at=job.lock_expires_at, deps=self.deps,
                         _extend=lambda duration: self.backend.extend_lock(job.id, self.worker_id, duration))
        try:
            if handler is None:
                raise LookupError(f"this worker has no handler for topic {job.topic}")
            variables = handler(job.variables, ctx)
            json.dumps(variables, allow_nan=False)  # results are stored as JSON: refuse anything else here
        except BpmnError as error:
            log.info("job %s raised BPMN error %s", job.id, error.code, extra=extra)
            return self._report(lambda: self.backend.bpmn_error(job.id, self.worker_id, error.code, error.message,
                                                                error.variables), "bpmn_error", extra)
        except Exception as exc:  # noqa: BLE001 (the runner is the boundary: every failure is reported)
            retries, delay = self._retry_after_failure(handler, job)
            log.warning("job %s failed (%s); %d retries left", job.id, exc, retries, extra=extra)
            details = "".join(traceback.format_exception(exc))[-MAX_DETAILS:]
            message = f"{type(exc).__name__}: {exc}"
            return self._report(lambda: self.backend.fail(job.id, self.worker_id, message, details, retries, delay),
                                "failed", extra)
        return self._report(lambda: self.backend.complete(job.id, self.worker_id, variables), "completed", extra)

    def _retry_after_failure(self, handler: Handler | None, job: FetchedJob) -> tuple[int, timedelta]:
        """Camunda semantics: the worker reports the remaining retries and the delay (DESIGN.md §6). The job's
        own count (from the BPMN or an earlier report) wins over the handler's policy, which wins over
        `[workers] retries`; the first failure keeps the count, later ones lower it (so 3 allows 4 runs).
        A BPMN count beyond the policy's retries waits `max_delay` between the extra runs."""
        from engine.services.jobs import remaining_retries

        policy = (handler.retry if handler else None) or self.default_policy
        remaining = remaining_retries(job.retries, job.failures, policy.retries)
        delay = policy.next_delay(job.failures + 1) if remaining else None
        return remaining, delay if delay is not None else policy.max_delay

    def _report(self, send: Any, outcome: str, extra: dict[str, str]) -> str:
        pause = 0.2
        for attempt in range(1, REPORT_ATTEMPTS + 1):
            try:
                send()
                return outcome
            except ReportRejected as exc:
                log.warning("report for job %s rejected: %s", extra["job_id"], exc, extra=extra)
                return "rejected"
            except EngineUnavailable as exc:
                if attempt == REPORT_ATTEMPTS:
                    log.error("report for job %s lost (%s); its lock will expire and it runs again",
                              extra["job_id"], exc, extra=extra)
                    return "lost"
                time.sleep(pause)  # a real wait between network retries, not business time
                pause *= 2
            except Exception:  # noqa: BLE001 (e.g. 422: a report the engine cannot take; it never will)
                log.exception("report for job %s refused", extra["job_id"], extra=extra)
                return "refused"
        return "lost"
