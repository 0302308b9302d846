"""`update_waiting_tasks` with one waiting join task and no walk (engine/bpmn/fast_scan.py) against stock's walk."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow

from engine.bpmn import fast_join, fast_scan, runtime
from engine.bpmn.canonical import canonical_state
from engine.bpmn.parsing import load_process
from tests.unit.bpmn.test_fast_join import _fan_out, _loop
from tests.unit.bpmn.test_fast_scan import CORPUS, T0, _drive, stock


def _states(parsed: Any, seed: int, variables: dict[str, Any] | None = None,
            on_step: Callable[[BpmnWorkflow], None] | None = None) -> list[Any]:
    """The canonical state after the start and after each completion, the open user task picked at random;
    `on_step` sees the workflow after each completion."""
    rng = random.Random(seed)
    workflow = runtime.new_workflow(parsed, variables or {"limit": 5}, T0)
    result = runtime.advance(workflow, T0)
    states = [canonical_state(workflow)]
    while result.human_tasks:
        task = rng.choice(result.human_tasks)
        try:
            result = runtime.complete_user_task(workflow, task.spiff_task_id, {"ok": True}, T0)
        except AttributeError as exc:  # stock Spiff's own failure on some orders of the loop (its join's _run_hook)
            states.append(repr(exc))
            break
        if on_step is not None:
            on_step(workflow)
        states.append(canonical_state(workflow))
    return states


def same_as_stock(parsed: Any, seeds: Iterable[int], states: Callable[[Any, int], list[Any]],
                  unpatched: Callable[[], AbstractContextManager[None]]) -> None:
    """Each seed's run gives the same states patched as inside `unpatched()`, and ends (or stock Spiff fails)."""
    for seed in seeds:
        patched = states(parsed, seed)
        with unpatched():
            expected = states(parsed, seed)
        assert patched == expected
        assert isinstance(patched[-1], str) or patched[-1]["completed"]


@pytest.fixture
def shortcuts(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each answer of the walk up, in order (a True is an update taken without the walk). The repeated join update
    is not skipped here (fast_join.task_completed_notify, tests/unit/bpmn/test_join_repeat.py): it would come
    first."""
    answers: list[bool] = []
    reaches = fast_scan._walk_reaches
    monkeypatch.setattr(Workflow, "_task_completed_notify", fast_join._STOCK_NOTIFY)

    def counted(workflow: Any, task: Any) -> bool:
        answers.append(reaches(workflow, task))
        return answers[-1]

    monkeypatch.setattr(fast_scan, "_walk_reaches", counted)
    return answers


@pytest.mark.parametrize(("name", "xml"), [("wide_12", _fan_out(12)), ("wide_30", _fan_out(30)), ("loop", _loop())])
def test_same_states_as_the_stock_walk_at_every_step(name: str, xml: bytes, shortcuts: list[bool]) -> None:
    same_as_stock(load_process(xml, file=f"{name}.bpmn"), range(3), _states, stock)
    assert any(shortcuts)  # the join's update was taken without the walk


def test_no_walk_for_a_waiting_join(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = load_process(_fan_out(12), file="wide.bpmn")
    workflow = runtime.new_workflow(parsed, {}, T0)
    result = runtime.advance(workflow, T0)
    walks = []
    walk = fast_scan.iter_state
    monkeypatch.setattr(fast_scan, "iter_state", lambda *args, **kwargs: walks.append(args) or walk(*args, **kwargs))
    for task in result.human_tasks[:-1]:
        runtime.complete_user_task(workflow, task.spiff_task_id, {"ok": True}, T0)
    assert [t.task_spec.name for t in workflow.tasks.values() if t.state == TaskState.WAITING] == ["join"]
    assert not [args for args in walks if args[1] == TaskState.WAITING]


def _walked(workflow: BpmnWorkflow) -> None:
    for wf in (workflow, *workflow.subprocesses.values()):
        reached = set(map(id, fast_scan.iter_state(wf.task_tree, TaskState.WAITING)))
        for task in wf.tasks.values():
            if task.state == TaskState.WAITING:
                assert fast_scan._walk_reaches(wf, task) == (id(task) in reached), task.task_spec.name


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.stem)
def test_reaches_what_the_walk_yields_at_every_step(path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.unit.bpmn.test_fast_scan as driver

    monkeypatch.setattr(driver, "_check_every_filter", _walked)
    _drive(load_process(path.read_bytes(), file=path.name), check=True)


def test_a_join_the_walk_would_not_reach_is_left_to_the_walk() -> None:
    parsed = load_process(_fan_out(3), file="wide.bpmn")
    workflow = runtime.new_workflow(parsed, {}, T0)
    result = runtime.advance(workflow, T0)
    runtime.complete_user_task(workflow, result.human_tasks[0].spiff_task_id, {"ok": True}, T0)
    join = next(t for t in workflow.tasks.values() if t.state == TaskState.WAITING)
    assert fast_scan._walk_reaches(workflow, join)
    branch = join.parent
    saved = branch._state
    branch._state = TaskState.LIKELY  # the walk does not descend below a predicted task
    assert not fast_scan._walk_reaches(workflow, join)
    assert join not in list(fast_scan.iter_state(workflow.task_tree, TaskState.WAITING))
    branch._state = saved
    children = branch._children
    branch._children = []  # not listed by its parent: the walk never meets it
    assert not fast_scan._walk_reaches(workflow, join)
    branch._children = children
    assert fast_scan._walk_reaches(workflow, join)


def _inclusive() -> bytes:
    """An inclusive split into `a` (straight to the inclusive join) and `b` (to the join, or to its own end when
    `skip`): with `a` done the join waits, and when `b` ends elsewhere only the update of the waiting join, after
    that end event completes, finds that no path can still reach it."""
    condition = '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{}</bpmn:conditionExpression>'
    return (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="urn:t">'
        '<bpmn:process id="inclusive" isExecutable="true"><bpmn:startEvent id="start"><bpmn:outgoing>s</bpmn:outgoing>'
        '</bpmn:startEvent><bpmn:sequenceFlow id="s" sourceRef="start" targetRef="fork" />'
        '<bpmn:inclusiveGateway id="fork"><bpmn:incoming>s</bpmn:incoming><bpmn:outgoing>in_a</bpmn:outgoing>'
        '<bpmn:outgoing>in_b</bpmn:outgoing></bpmn:inclusiveGateway>'
        + "".join(f'<bpmn:sequenceFlow id="in_{x}" sourceRef="fork" targetRef="t_{x}">{condition.format("True")}'
                  f'</bpmn:sequenceFlow><bpmn:userTask id="t_{x}" camunda:candidateGroups="nrp">'
                  f'<bpmn:incoming>in_{x}</bpmn:incoming><bpmn:outgoing>out_{x}</bpmn:outgoing></bpmn:userTask>'
                  for x in "ab")
        + '<bpmn:sequenceFlow id="out_a" sourceRef="t_a" targetRef="join" />'
        '<bpmn:sequenceFlow id="out_b" sourceRef="t_b" targetRef="route" />'
        '<bpmn:exclusiveGateway id="route" default="to_join"><bpmn:incoming>out_b</bpmn:incoming>'
        '<bpmn:outgoing>to_join</bpmn:outgoing><bpmn:outgoing>to_end</bpmn:outgoing></bpmn:exclusiveGateway>'
        '<bpmn:sequenceFlow id="to_join" sourceRef="route" targetRef="join" />'
        f'<bpmn:sequenceFlow id="to_end" sourceRef="route" targetRef="end_b">{condition.format("skip")}'
        '</bpmn:sequenceFlow><bpmn:endEvent id="end_b"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:inclusiveGateway id="join"><bpmn:incoming>out_a</bpmn:incoming><bpmn:incoming>to_join</bpmn:incoming>'
        '<bpmn:outgoing>j</bpmn:outgoing></bpmn:inclusiveGateway>'
        '<bpmn:sequenceFlow id="j" sourceRef="join" targetRef="end" />'
        '<bpmn:endEvent id="end"><bpmn:incoming>j</bpmn:incoming></bpmn:endEvent></bpmn:process>'
        '</bpmn:definitions>').encode()


def _inclusive_run(skip: bool) -> tuple[list[Any], list[str]]:
    workflow = runtime.new_workflow(load_process(_inclusive(), file="inclusive.bpmn"), {}, T0)
    result = runtime.advance(workflow, T0)
    states, waiting = [canonical_state(workflow)], []
    for name in ("t_a", "t_b"):
        task = next(t for t in result.human_tasks if t.bpmn_id == name)
        result = runtime.complete_user_task(workflow, task.spiff_task_id, {"skip": skip}, T0)
        states.append(canonical_state(workflow))
        waiting += [t.task_spec.name for t in workflow.tasks.values() if t.state == TaskState.WAITING]
    return states, waiting


@pytest.mark.parametrize("skip", [True, False])
def test_a_waiting_inclusive_join_released_by_the_update(skip: bool, shortcuts: list[bool]) -> None:
    patched, waiting = _inclusive_run(skip)
    with stock():
        unpatched, _ = _inclusive_run(skip)
    assert patched == unpatched
    assert waiting == ["join"]  # after `a`, the join waited; after `b`, nothing does
    assert patched[-1]["completed"]
    assert any(shortcuts)
