"""In-process background services for embedded mode (`approvals serve`): the timer scheduler and workers.

Each service registers a starter here; `start_background` starts them all and returns one stop function.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.app_state import AppState

Starter = Callable[[AppState], Callable[[], None]]
STARTERS: list[Starter] = []


def _timer_scheduler(state: AppState) -> Callable[[], None]:
    from engine.scheduler import start_if_enabled

    return start_if_enabled(state)


STARTERS.append(_timer_scheduler)


def start_background(state: AppState) -> Callable[[], None]:
    stops = [starter(state) for starter in STARTERS]

    def stop() -> None:
        for stop_one in reversed(stops):
            stop_one()

    return stop


def _embedded_workers(state: AppState) -> Callable[[], None]:
    from engine.worker.embedded import start_if_enabled

    return start_if_enabled(state)


STARTERS.append(_embedded_workers)


def _notifications(state: AppState) -> Callable[[], None]:
    from engine.portal.notifier import start_if_enabled  # applicants' e-mail/SMS outbox (issue 8)

    return start_if_enabled(state)


STARTERS.append(_notifications)
