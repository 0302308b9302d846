"""In-process workers for `approvals serve` (embedded mode): the handlers in `workers/`, through the services."""

from __future__ import annotations

import logging
from collections.abc import Callable

from engine.app_state import AppState
from engine.worker.runner import WorkerRunner

log = logging.getLogger(__name__)


def start_if_enabled(state: AppState) -> Callable[[], None]:
    """Start a runner thread unless `[workers] enabled = false`; return its stop function."""
    if not state.settings.workers.enabled:
        return lambda: None
    import workers  # the runner is the only place that imports handler modules

    from engine.bureau.deps import BureauDeps  # the approval-process handlers' records (engine/bureau)

    runner = WorkerRunner(state.settings, workers.ROUTERS, state=state, worker_id=f"embedded:{_host_pid()}",
                          deps=BureauDeps.from_state(state))
    runner.start()
    return lambda: runner.stop(timeout=state.settings.workers.long_poll_seconds + 30)


def _host_pid() -> str:
    from engine.worker.runner import default_worker_id

    return default_worker_id()
