"""Running the notifications outbox: `run_once` collects new messages (one transaction) and sends what waits;
`start_if_enabled` does it every `[notify] interval_seconds` in a thread of `approvals serve` (embedded mode);
`approvals notify run` does it once (cron, or a separate process in scale-out mode)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from engine.app_state import AppState
from engine.portal import notifications
from engine.portal.senders import MessageSender, build_senders
from engine.services import calendars

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RoundOut:
    queued: int
    sent: int
    failed: int


def default_senders(state: AppState) -> dict[str, MessageSender]:
    settings = state.settings
    return build_senders(settings.notify, settings.path(settings.paths.var) / "outbox")


def run_once(state: AppState, senders: Mapping[str, MessageSender] | None = None) -> RoundOut:
    senders = default_senders(state) if senders is None else senders
    with state.sessions.begin() as session:
        queued = notifications.collect(session, now=state.clock.now(), calendar=calendars.current(session, state.ctx),
                                       channels=list(senders), remind_days=state.settings.notify.remind_days)
    sent, failed = notifications.dispatch(state.sessions, senders, now=state.clock.now())
    return RoundOut(queued, sent, failed)


def start_if_enabled(state: AppState) -> Callable[[], None]:
    """A daemon thread running a round every interval; nothing when every channel is off."""
    senders = default_senders(state)
    if not senders or state.settings.notify.interval_seconds <= 0:
        return lambda: None
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(state.settings.notify.interval_seconds):
            try:
                run_once(state, senders)
            except Exception:
                log.exception("notifications round failed")

    thread = threading.Thread(target=loop, name="notifications", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=30)

    return halt
