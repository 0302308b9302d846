"""SpiffWorkflow 3.2's log records, built only when a logger would emit them.

Why: `Task._set_state` (every state change, 3-4 per task run) formats its message with `TaskState.get_name`
and builds `collect_log_extras` before `logger.info` looks at the level, and `Workflow.collect_log_extras` (a
subprocess starts or completes, a workflow completes or is cancelled) lists every task id with a stock iterator
walk when the logger's own level is unset (`logger.level < 20`, our case). With the `spiff.*` loggers at WARNING
(the CLI's default) all of that was ~1.7% of a simulation's CPU (py-spy) and reached no handler.

- `_set_state` does what stock does to the task (`_state`, `last_state_change` from `time.time()`) and leaves the
  record to stock whenever `spiff.task` is enabled for the record's level (INFO for a change, DEBUG otherwise).
- `Workflow.collect_log_extras` is only ever an argument of `spiff.workflow`'s `logger.info` (Workflow.__init__,
  cancel, _mark_complete; BpmnSubWorkflow's override extends it): when that logger is not enabled for INFO the
  record is dropped, so it returns the caller's dict without the walk.
tests/unit/bpmn/test_log_extras.py checks the same records as stock when enabled, the same end states when not.
`install()`/`uninstall()` as in fast_scan.
"""

from __future__ import annotations

import logging
from typing import Any

from SpiffWorkflow import task as spiff_task_module
from SpiffWorkflow.task import Task
from SpiffWorkflow.workflow import Workflow

_TASK_LOG = logging.getLogger("spiff.task")  # SpiffWorkflow/task.py's logger
_WORKFLOW_LOG = logging.getLogger("spiff.workflow")  # SpiffWorkflow/workflow.py's logger
_STOCK_SET_STATE = Task._set_state
_STOCK_WORKFLOW_EXTRAS = Workflow.collect_log_extras


def _set_state(self: Task, value: int) -> None:
    if value != self.state:
        if _TASK_LOG.isEnabledFor(logging.INFO):
            _STOCK_SET_STATE(self, value)
            return
        self.last_state_change = spiff_task_module.time.time()
        self._state = value
    elif _TASK_LOG.isEnabledFor(logging.DEBUG):
        _STOCK_SET_STATE(self, value)


def _workflow_extras(self: Workflow, dct: dict[str, Any] | None = None) -> dict[str, Any]:
    if _WORKFLOW_LOG.isEnabledFor(logging.INFO):
        return _STOCK_WORKFLOW_EXTRAS(self, dct)
    return dct or {}


def install() -> None:
    Task._set_state = _set_state  # type: ignore[method-assign]
    Workflow.collect_log_extras = _workflow_extras  # type: ignore[method-assign]


def uninstall() -> None:
    Task._set_state = _STOCK_SET_STATE  # type: ignore[method-assign]
    Workflow.collect_log_extras = _STOCK_WORKFLOW_EXTRAS  # type: ignore[method-assign]


def installed() -> bool:
    return Task.__dict__.get("_set_state") is _set_state
