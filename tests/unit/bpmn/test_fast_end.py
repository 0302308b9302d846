"""The end join's check (engine/bpmn/fast_end.py) answers as SpiffWorkflow's own, at every step."""

from __future__ import annotations

import sys

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.control import _EndJoin
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import fast_end, runtime
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_scan import CORPUS, T0, _drive

# Two branches that end on their own end events: the end join is reached (and asked) once per branch.
TWO_ENDS = (
    b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">'
    b'<bpmn:process id="two_ends" isExecutable="true"><bpmn:startEvent id="start"><bpmn:outgoing>s</bpmn:outgoing>'
    b'</bpmn:startEvent><bpmn:sequenceFlow id="s" sourceRef="start" targetRef="fork" />'
    b'<bpmn:parallelGateway id="fork"><bpmn:incoming>s</bpmn:incoming><bpmn:outgoing>a</bpmn:outgoing>'
    b'<bpmn:outgoing>b</bpmn:outgoing></bpmn:parallelGateway>'
    b'<bpmn:sequenceFlow id="a" sourceRef="fork" targetRef="t_a" /><bpmn:sequenceFlow id="b" sourceRef="fork" '
    b'targetRef="t_b" /><bpmn:userTask id="t_a"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>ea</bpmn:outgoing>'
    b'</bpmn:userTask><bpmn:userTask id="t_b"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>eb</bpmn:outgoing>'
    b'</bpmn:userTask><bpmn:sequenceFlow id="ea" sourceRef="t_a" targetRef="end_a" />'
    b'<bpmn:sequenceFlow id="eb" sourceRef="t_b" targetRef="end_b" />'
    b'<bpmn:endEvent id="end_a"><bpmn:incoming>ea</bpmn:incoming></bpmn:endEvent>'
    b'<bpmn:endEvent id="end_b"><bpmn:incoming>eb</bpmn:incoming></bpmn:endEvent></bpmn:process>'
    b'</bpmn:definitions>')


def _same_answers(workflow: BpmnWorkflow, asked: list[tuple[bool, bool]]) -> None:
    for wf in (workflow, *workflow.subprocesses.values()):
        for task in list(wf.tasks.values()):
            if isinstance(task.task_spec, _EndJoin):
                fast = fast_end.check_threshold_unstructured(task.task_spec, task)
                assert fast == fast_end.stock_check(task.task_spec, task), task.task_spec.name
                asked.append((fast, bool(task._state & TaskState.FINISHED_MASK)))


SOURCES = [(p.stem, p.read_bytes()) for p in CORPUS] + [("two_ends", TWO_ENDS)]


@pytest.mark.parametrize(("name", "xml"), SOURCES, ids=[name for name, _ in SOURCES])
def test_same_answer_for_every_end_join_task_at_every_step(name: str, xml: bytes,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    driver = sys.modules["tests.unit.bpmn.test_fast_scan"]
    asked: list[tuple[bool, bool]] = []
    monkeypatch.setattr(driver, "_check_every_filter", lambda workflow: _same_answers(workflow, asked))
    _drive(load_process(xml, file=f"{name}.bpmn"), check=True)
    if name == "two_ends":  # both answers occur: one branch still open, then none
        assert {answer for answer, _finished in asked} == {True, False}


def test_one_branch_ended_waits_for_the_other() -> None:
    workflow = runtime.new_workflow(load_process(TWO_ENDS, file="two_ends.bpmn"), {}, T0)
    runtime.advance(workflow, T0)
    first, second = workflow.get_tasks(state=TaskState.READY, manual=True)
    runtime.complete_user_task(workflow, str(first.id), {}, T0)
    assert not workflow.is_completed()
    [waiting] = [t for t in workflow.tasks.values()
                 if isinstance(t.task_spec, _EndJoin) and t.state == TaskState.WAITING]
    assert fast_end.check_threshold_unstructured(waiting.task_spec, waiting) is False
    runtime.complete_user_task(workflow, str(second.id), {}, T0)
    assert workflow.is_completed()


def test_nothing_below_a_completed_end_join_is_counted() -> None:
    """By hand, an unfinished task below a COMPLETED end join: the walk does not go below a task of that spec, so
    the answer from the tasks up must not take the end join's chain as walked into (it gives way to the walk)."""
    workflow = runtime.new_workflow(load_process(TWO_ENDS, file="two_ends.bpmn"), {}, T0)
    runtime.advance(workflow, T0)
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        runtime.complete_user_task(workflow, str(task.id), {}, T0)
    fired = next(t for t in workflow.tasks.values()
                 if isinstance(t.task_spec, _EndJoin) and t.state == TaskState.COMPLETED)
    [end] = [workflow.tasks[child] for child in fired._children]
    below = end._add_child(end.task_spec, TaskState.READY)  # under the COMPLETED chain, past the cut-off
    assert fast_end.stock_check(fired.task_spec, fired) is True
    assert fast_end.check_threshold_unstructured(fired.task_spec, fired) is True
    workflow.completed = False
    assert workflow.is_completed() is False  # without the cut-off it is found
    end._children.remove(below.id)
    end._state = TaskState.READY  # right below the end join
    assert fast_end.stock_check(fired.task_spec, fired) is True
    assert fast_end.check_threshold_unstructured(fired.task_spec, fired) is True
