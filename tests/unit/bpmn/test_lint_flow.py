"""Flow rules beyond the one-file-per-rule corpus: deadlock detection, reachability roots, default proofs."""

from __future__ import annotations

from tests.unit.bpmn.lint_support import flows, line_of, rules, run

TIMER = """    <bpmn:boundaryEvent id="{id}" attachedToRef="{host}"{cancel}>
      <bpmn:timerEventDefinition id="{id}_def"><bpmn:timeDuration>P5D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
"""


def timer(timer_id: str, host: str, *, interrupting: bool = True) -> str:
    return TIMER.format(id=timer_id, host=host, cancel="" if interrupting else ' cancelActivity="false"')


def test_exclusive_branches_rejoined_by_a_parallel_gateway_deadlock() -> None:
    body = """    <bpmn:startEvent id="start" />
    <bpmn:exclusiveGateway id="choose" default="flow_choose_a" />
    <bpmn:task id="a" /><bpmn:task id="b" />
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="done" />
""" + flows("start>choose", "choose>a", "a>join", "b>join", "join>done") + """    <bpmn:sequenceFlow id="flow_choose_b" sourceRef="choose" targetRef="b">
      <bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
"""
    findings = run(body)
    assert [(f.rule_id, f.line, f.element_id) for f in findings] == [
        ("parallel-join-deadlock", line_of(body, 'id="join"'), "join")]
    assert "outcomes of choose" in findings[0].message_en
    assert {"flow_a_join", "flow_b_join"} <= set(findings[0].message_en.replace(",", " ").split())


def test_non_interrupting_timer_path_into_a_join_waits_forever() -> None:
    body = """    <bpmn:startEvent id="start" />
    <bpmn:task id="review" />
""" + timer("remind", "review", interrupting=False) + """    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="done" />
""" + flows("start>review", "review>join", "remind>join", "join>done")
    assert rules(body) == ["parallel-join-deadlock"]


def test_review_wrapped_in_a_subprocess_with_one_outflow_joins_safely() -> None:
    body = """    <bpmn:startEvent id="start" />
    <bpmn:parallelGateway id="split" />
    <bpmn:subProcess id="scope">
      <bpmn:startEvent id="scope_start" />
      <bpmn:task id="review" />
""" + timer("deemed", "review") + """      <bpmn:endEvent id="reviewed" /><bpmn:endEvent id="deemed_end" />
""" + flows("scope_start>review", "review>reviewed", "deemed>deemed_end") + """    </bpmn:subProcess>
    <bpmn:task id="other" />
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="done" />
""" + flows("start>split", "split>scope", "split>other", "scope>join", "other>join", "join>done")
    assert rules(body) == []


def test_paths_merged_by_an_exclusive_gateway_before_the_join_are_fine() -> None:
    body = """    <bpmn:startEvent id="start" />
    <bpmn:parallelGateway id="split" />
    <bpmn:task id="review" />
""" + timer("deemed", "review") + """    <bpmn:exclusiveGateway id="merge" />
    <bpmn:task id="other" />
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="done" />
""" + flows("start>split", "split>review", "split>other", "review>merge", "deemed>merge", "merge>join",
            "other>join", "join>done")
    assert rules(body) == []


def test_a_return_back_flow_does_not_make_parallel_branches_look_exclusive() -> None:
    """decide → back to intake, before the split: the first pass reaches both inputs without passing decide."""
    body = """    <bpmn:startEvent id="start" />
    <bpmn:exclusiveGateway id="intake" />
    <bpmn:parallelGateway id="split" />
    <bpmn:task id="a" /><bpmn:task id="b" />
    <bpmn:parallelGateway id="join" />
    <bpmn:exclusiveGateway id="decide" default="flow_decide_done" />
    <bpmn:endEvent id="done" />
""" + flows("start>intake", "intake>split", "split>a", "split>b", "a>join", "b>join", "join>decide",
            "decide>done") + """    <bpmn:sequenceFlow id="flow_return" sourceRef="decide" targetRef="intake">
      <bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
"""
    assert rules(body) == []


def test_inclusive_split_into_a_parallel_join_deadlocks() -> None:
    body = """    <bpmn:dataObject id="x" />
    <bpmn:startEvent id="start" />
    <bpmn:inclusiveGateway id="pick" default="flow_pick_a" />
    <bpmn:task id="a" /><bpmn:task id="b" />
    <bpmn:parallelGateway id="join" />
    <bpmn:endEvent id="done" />
""" + flows("start>pick", "pick>a", "a>join", "b>join", "join>done") + """    <bpmn:sequenceFlow id="flow_pick_b" sourceRef="pick" targetRef="b">
      <bpmn:conditionExpression>x &gt; 1</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
"""
    assert rules(body) == ["parallel-join-deadlock"]


def test_unreachable_reports_only_the_first_element_of_a_disconnected_chain() -> None:
    body = """    <bpmn:startEvent id="start" /><bpmn:endEvent id="done" />
    <bpmn:task id="orphan_1" /><bpmn:task id="orphan_2" /><bpmn:task id="orphan_3" />
""" + flows("start>done", "orphan_1>orphan_2", "orphan_2>orphan_3", "orphan_3>done")
    findings = run(body)
    assert [(f.rule_id, f.element_id) for f in findings] == [("unreachable", "orphan_1")]
    assert "2 element(s)" in findings[0].message_en


def test_a_loop_without_exit_is_one_dead_end() -> None:
    body = """    <bpmn:startEvent id="start" /><bpmn:endEvent id="done" />
    <bpmn:exclusiveGateway id="choose" default="flow_choose_done" />
    <bpmn:task id="fix" /><bpmn:task id="recheck" />
""" + flows("start>choose", "choose>done", "fix>recheck", "recheck>fix") + """    <bpmn:sequenceFlow id="flow_loop" sourceRef="choose" targetRef="fix">
      <bpmn:conditionExpression>True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
"""
    findings = run(body)
    assert [(f.rule_id, f.element_id) for f in findings] == [("dead-end", "fix")]
    assert "fix → recheck" in findings[0].message_en


def test_a_task_whose_only_way_out_is_its_timer_is_still_a_dead_end() -> None:
    body = """    <bpmn:startEvent id="start" /><bpmn:endEvent id="done" />
    <bpmn:task id="review" />
""" + timer("deemed", "review") + flows("start>review", "deemed>done")
    assert [(f.rule_id, f.element_id) for f in run(body)] == [("dead-end", "review")]


def _gateway(*conditions: str) -> str:
    body = """    <bpmn:dataObject id="x" /><bpmn:dataObject id="ok" />
    <bpmn:startEvent id="start" /><bpmn:exclusiveGateway id="choose" /><bpmn:endEvent id="done" />
""" + flows("start>choose")
    for i, condition in enumerate(conditions):
        body += f"""    <bpmn:task id="t{i}" />
    <bpmn:sequenceFlow id="flow_c{i}" sourceRef="choose" targetRef="t{i}">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
""" + flows(f"t{i}>done")
    return body


def test_complementary_conditions_need_no_default() -> None:
    assert rules(_gateway("ok", "not ok")) == []
    assert rules(_gateway("x == 1", "x != 1")) == []
    assert rules(_gateway("x &lt; 5", "x &gt;= 5")) == []
    assert rules(_gateway("x &gt; 5", "True")) == []


def test_conditions_lint_cannot_prove_exhaustive_need_a_default() -> None:
    assert rules(_gateway("x &lt; 5", "x &gt; 5")) == ["gateway-no-default"]
    assert rules(_gateway("ok", "x == 1")) == ["gateway-no-default"]


def test_a_default_naming_another_gateways_flow_is_reported() -> None:
    body = _gateway("ok", "not ok").replace('<bpmn:exclusiveGateway id="choose" />',
                                            '<bpmn:exclusiveGateway id="choose" default="flow_start_choose" />')
    assert rules(body) == ["gateway-no-default"]


def test_a_condition_on_the_default_flow_is_ignored_by_spiff() -> None:
    body = _gateway("ok", "not ok").replace('<bpmn:exclusiveGateway id="choose" />',
                                            '<bpmn:exclusiveGateway id="choose" default="flow_c1" />')
    assert [(f.rule_id, f.element_id) for f in run(body)] == [("condition-ignored", "flow_c1")]


def test_a_joining_gateway_with_one_outgoing_flow_is_fine() -> None:
    body = """    <bpmn:startEvent id="start" /><bpmn:parallelGateway id="split" /><bpmn:task id="a" /><bpmn:task id="b" />
    <bpmn:parallelGateway id="join" /><bpmn:endEvent id="done" />
""" + flows("start>split", "split>a", "split>b", "a>join", "b>join", "join>done")
    assert rules(body) == []
