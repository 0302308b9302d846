"""The parallel join's check (engine/bpmn/fast_join.py) answers as SpiffWorkflow's own, at every step."""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway

from engine.bpmn import fast_join
from engine.bpmn.canonical import canonical_state
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_scan import CORPUS, _drive


def _fan_out(branches: int) -> bytes:
    flows = "".join(f'<bpmn:sequenceFlow id="in_{i}" sourceRef="fork" targetRef="t_{i}" />'
                    f'<bpmn:userTask id="t_{i}" camunda:candidateGroups="nrp"><bpmn:incoming>in_{i}</bpmn:incoming>'
                    f'<bpmn:outgoing>out_{i}</bpmn:outgoing></bpmn:userTask>'
                    f'<bpmn:sequenceFlow id="out_{i}" sourceRef="t_{i}" targetRef="join" />' for i in range(branches))
    fork = "".join(f"<bpmn:outgoing>in_{i}</bpmn:outgoing>" for i in range(branches))
    join = "".join(f"<bpmn:incoming>out_{i}</bpmn:incoming>" for i in range(branches))
    return (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">'
        '<bpmn:process id="wide" isExecutable="true"><bpmn:startEvent id="start"><bpmn:outgoing>s</bpmn:outgoing>'
        '</bpmn:startEvent><bpmn:sequenceFlow id="s" sourceRef="start" targetRef="fork" />'
        f'<bpmn:parallelGateway id="fork"><bpmn:incoming>s</bpmn:incoming>{fork}</bpmn:parallelGateway>{flows}'
        f'<bpmn:parallelGateway id="join">{join}<bpmn:outgoing>e</bpmn:outgoing></bpmn:parallelGateway>'
        '<bpmn:sequenceFlow id="e" sourceRef="join" targetRef="end" />'
        '<bpmn:endEvent id="end"><bpmn:incoming>e</bpmn:incoming></bpmn:endEvent></bpmn:process>'
        '</bpmn:definitions>').encode()


def _same_answers(workflow: BpmnWorkflow) -> None:
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in list(wf.tasks.values()):
            if isinstance(task.task_spec, ParallelGateway):
                assert (fast_join.check_threshold_unstructured(task.task_spec, task)
                        == fast_join.stock_check(task.task_spec, task)), task.task_spec.name


SOURCES = [(p.stem, p.read_bytes()) for p in CORPUS] + [("wide_12", _fan_out(12))]


@pytest.mark.parametrize(("name", "xml"), SOURCES, ids=[name for name, _ in SOURCES])
def test_same_answer_for_every_join_task_at_every_step(name: str, xml: bytes,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.unit.bpmn.test_fast_scan as driver

    monkeypatch.setattr(driver, "_check_every_filter", _same_answers)
    _drive(load_process(xml, file=f"{name}.bpmn"), check=True)


def test_same_end_state_as_stock() -> None:
    parsed = load_process(_fan_out(12), file="wide.bpmn")
    patched = canonical_state(_drive(parsed, check=False))
    fast_join.uninstall()
    try:
        unpatched = canonical_state(_drive(parsed, check=False))
    finally:
        fast_join.install()
    assert patched == unpatched and patched["completed"]
