"""Spiff's log records built only when emitted (engine/bpmn/log_extras.py): stock records when the loggers are
enabled, stock end states when they are not."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import log_extras
from engine.bpmn.canonical import canonical_state
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_scan import CORPUS, ROOT, _drive


@contextmanager
def stock() -> Iterator[None]:
    log_extras.uninstall()
    try:
        yield
    finally:
        log_extras.install()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_end_state_as_stock_with_the_loggers_quiet(path: Path) -> None:
    assert log_extras.installed()
    assert not logging.getLogger("spiff.task").isEnabledFor(logging.INFO)
    assert not logging.getLogger("spiff.workflow").isEnabledFor(logging.INFO)
    parsed = load_process(path.read_bytes(), file=path.name)
    patched = canonical_state(_drive(parsed, check=False))
    with stock():
        unpatched = canonical_state(_drive(parsed, check=False))
    assert patched == unpatched


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
def test_the_same_records_as_stock_when_a_logger_is_enabled(level: int, caplog: pytest.LogCaptureFixture) -> None:
    path = ROOT / "bench/approval_9.bpmn"
    parsed = load_process(path.read_bytes(), file=path.name)
    records = {}
    for name in ("patched", "stock"):
        caplog.clear()
        with caplog.at_level(level, logger="spiff"):
            if name == "stock":
                with stock():
                    _drive(parsed, check=False, steps=5)
            else:
                _drive(parsed, check=False, steps=5)
        records[name] = [(r.name, r.levelname, r.getMessage(), sorted(vars(r))) for r in caplog.records
                         if r.name.startswith("spiff")]
    assert records["patched"] == records["stock"]
    assert any(message.startswith("State changed") for _n, _l, message, _k in records["patched"])
    assert any(message == "Workflow completed" for _n, _l, message, _k in records["patched"])


def test_a_quiet_state_change_still_stamps_the_task() -> None:
    path = ROOT / "bench/approval_9.bpmn"
    workflow = _drive(load_process(path.read_bytes(), file=path.name), check=False, steps=1)
    task = next(t for t in workflow.tasks.values() if t.state == TaskState.LIKELY)
    before = time.time()
    task._set_state(TaskState.FUTURE)
    assert task.state == TaskState.FUTURE and task.last_state_change >= before
    stamp = task.last_state_change
    task._set_state(TaskState.FUTURE)  # no change: no new stamp, as in stock
    assert task.last_state_change == stamp
