"""The fast state dict (engine/bpmn/fast_dump.py) equals the serializer registry's, on the corpus, at every step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow

from engine.bpmn import serialization
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_scan import CORPUS, _drive


def _same_dict(workflow: BpmnWorkflow) -> None:
    fast = serialization.state_dict(workflow)
    stock = serialization._SERIALIZER.to_dict(workflow)
    assert fast == stock
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(stock, ensure_ascii=False)  # key order too


def test_the_fast_path_is_taken() -> None:
    assert serialization._FAST.fast


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_same_dict_as_the_registry_at_every_step(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.unit.bpmn.test_fast_scan as driver

    monkeypatch.setattr(driver, "_check_every_filter", _same_dict)
    workflow = _drive(load_process(path.read_bytes(), file=path.name), check=True)
    reloaded = serialization.load_workflow(serialization.dump_workflow(workflow), workflow.spec,
                                           workflow.subprocess_specs)
    _same_dict(reloaded)
    assert serialization.dump_workflow(reloaded) == serialization.dump_workflow(workflow)
