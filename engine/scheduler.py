"""The timer scheduler: an APScheduler 3 interval job that calls `services.timers.fire_due` (STYLE.md §4).

The database is the source of truth for timers; APScheduler only triggers the check. It uses the in-memory job
store (nothing pickled), one job with a stable id re-added with `replace_existing=True`, at most one run at a
time per process, and a first run right at start-up so overdue timers fire immediately. Any number of processes
may run it on PostgreSQL (row locks, `SKIP LOCKED`); on SQLite run one.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from engine.app_state import AppState
from engine.services.timers import FireReport, fire_due

JOB_ID = "engine.timers.fire_due"
log = logging.getLogger(__name__)


def tick(state: AppState) -> FireReport:
    """One tick on the app's clock (the shared simulated time in simulated mode)."""
    report = fire_due(state.sessions, state.ctx, state.clock.now(), state.settings.scheduler.batch_size)
    if report.candidates:
        log.info("timer tick: %d fired, %d skipped, %d incidents", len(report.fired), report.skipped,
                 len(report.incidents))
    return report


def _safe_tick(state: AppState) -> None:
    try:
        tick(state)
    except Exception:  # the scheduler thread must survive a database outage; the next tick retries
        log.exception("timer tick failed")


def start(state: AppState) -> Callable[[], None]:
    """Start the interval job in a background thread; returns the stop function."""
    scheduler = BackgroundScheduler(timezone=timezone.utc, job_defaults={"coalesce": True, "max_instances": 1})
    scheduler.add_job(_safe_tick, "interval", args=[state], id=JOB_ID, replace_existing=True,
                      seconds=state.settings.scheduler.tick_seconds,
                      next_run_time=datetime.now(timezone.utc))  # wall time only to schedule the first check
    scheduler.start()
    log.info("timer scheduler started (every %ss)", state.settings.scheduler.tick_seconds)

    def stop() -> None:
        scheduler.shutdown(wait=True)

    return stop


def start_if_enabled(state: AppState) -> Callable[[], None]:
    """The `serve` background starter: runs the scheduler in-process when `[scheduler] enabled`."""
    if not state.settings.scheduler.enabled:
        return lambda: None
    return start(state)


def run(state: AppState, *, stop_event: threading.Event | None = None) -> None:
    """`approvals scheduler`: tick until SIGTERM/SIGINT (or `stop_event`)."""
    stop_event = stop_event or threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop_event.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    stop = start(state)
    try:
        stop_event.wait()
    finally:
        stop()
