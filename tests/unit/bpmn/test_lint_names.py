"""Expressions: where names come from (unknown-variable), real lines inside scripts, timers' literals."""

from __future__ import annotations

import pytest

from tests.unit.bpmn.lint_support import flows, line_of, rules, run


def _condition_after(producer: str, condition: str, *, extra: str = "") -> str:
    """start → producer → gateway(default → done) with `condition` on the other branch."""
    return f"""{extra}    <bpmn:startEvent id="start" />
{producer}
    <bpmn:exclusiveGateway id="choose" default="flow_choose_done" />
    <bpmn:task id="special" /><bpmn:endEvent id="done" />
""" + flows("start>work", "work>choose", "choose>done", "special>done") + f"""    <bpmn:sequenceFlow id="flow_special" sourceRef="choose" targetRef="special">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
"""


USER_TASK = '    <bpmn:userTask id="work" camunda:candidateGroups="window" camunda:formKey="opinion"{extra} />'


def test_form_fields_of_an_earlier_user_task_are_known() -> None:
    assert rules(_condition_after(USER_TASK.format(extra=""), 'decision == "approve"')) == []


def test_result_variable_nests_the_form_under_one_name() -> None:
    task = """    <bpmn:userTask id="work" camunda:candidateGroups="window" camunda:formKey="opinion">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="resultVariable" value="land_opinion" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>"""
    assert rules(_condition_after(task, 'land_opinion["decision"] == "approve"')) == []
    findings = run(_condition_after(task, 'decision == "approve"'))
    assert [f.rule_id for f in findings] == ["unknown-variable"] and "decision" in findings[0].message_en


def test_start_form_declared_variables_data_objects_and_service_results_are_known() -> None:
    start_form = """    <bpmn:startEvent id="start">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="application.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:startEvent>"""
    service = """    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="permit.issue">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="resultVariable" value="permit" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:serviceTask>"""
    body = _condition_after(service, 'area_m2 &gt; 0 and permit and credit_ok and fee',
                            extra='    <bpmn:dataObject id="fee" />\n').replace('    <bpmn:startEvent id="start" />',
                                                                            start_form)
    assert rules(body, properties='\n        <spiffworkflow:property name="variables" value="credit_ok" />') == []
    assert rules(body) == ["unknown-variable"]  # credit_ok is no longer declared


def test_a_name_produced_only_later_is_unknown_here() -> None:
    body = """    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="early"><bpmn:script>total = fee * 2</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="late"><bpmn:script>fee = 100</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="done" />
""" + flows("start>early", "early>late", "late>done")
    findings = run(body)
    assert [(f.rule_id, f.line) for f in findings] == [("unknown-variable", line_of(body, 'id="early"'))]


def test_a_boundary_event_does_not_see_its_own_tasks_form() -> None:
    body = """    <bpmn:startEvent id="start" />
    <bpmn:userTask id="review" camunda:candidateGroups="window" camunda:formKey="opinion" />
    <bpmn:boundaryEvent id="deemed" attachedToRef="review">
      <bpmn:timerEventDefinition id="deemed_def"><bpmn:timeDuration>f"P{opinion}D"</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:exclusiveGateway id="merge" /><bpmn:endEvent id="done" />
""" + flows("start>review", "review>merge", "deemed>merge", "merge>done")
    assert rules(body) == ["unknown-variable"]


def test_script_errors_point_at_the_offending_line_inside_the_script() -> None:
    body = """    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="calc">
      <bpmn:script>
a = 1
b = 2
while a: pass
</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="done" />
""" + flows("start>calc", "calc>done")
    findings = run(body)
    assert [(f.rule_id, f.line) for f in findings] == [("expression-invalid", line_of(body, "while a"))]
    assert "while loops are not allowed" in findings[0].message_en


@pytest.mark.parametrize("condition, detail", [
    ("__import__('os').system('id')", "names starting with '_' are reserved"),
    ("open('x')", "function 'open' is not allowed"),
    ("x.__class__", "not allowed"),
    ("x ==", "invalid syntax"),
])
def test_conditions_the_sandbox_refuses_are_errors(condition: str, detail: str) -> None:
    body = _condition_after(USER_TASK.format(extra=""), condition, extra='    <bpmn:dataObject id="x" />\n')
    findings = run(body)
    assert [f.rule_id for f in findings] == ["expression-invalid"]
    assert detail in findings[0].message_en


def _timer(kind: str, text: str, *, calendar: str = "workday") -> str:
    return f"""    <bpmn:startEvent id="start" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="calendar" value="{calendar}" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:timerEventDefinition id="wait_def"><bpmn:{kind}>{text}</bpmn:{kind}></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="done" />
""" + flows("start>wait", "wait>done")


@pytest.mark.parametrize("kind, text, calendar", [
    ("timeDuration", "P5D", "workday"),
    ("timeDuration", "PT4H30M", "natural"),
    ("timeDuration", '"P5D"', "workday"),
    ("timeDate", "2026-05-01T09:00:00+08:00", "natural"),
    ("timeDate", "2026-05-01", "workday"),
    ("timeCycle", "R3/P1D", "workday"),
    ("timeCycle", "R/2026-05-01T09:00:00Z/PT1H", "natural"),
])
def test_valid_timer_literals_pass(kind: str, text: str, calendar: str) -> None:
    assert rules(_timer(kind, text, calendar=calendar)) == []


@pytest.mark.parametrize("kind, text, calendar", [
    ("timeDuration", "P5X", "workday"),
    ("timeDuration", "PT4H", "workday"),  # working days are whole days
    ("timeDuration", "2026-05-01", "natural"),  # a date where a duration belongs
    ("timeDate", "2026-02-30", "natural"),
    ("timeDate", "P5D", "natural"),
    ("timeCycle", "R3/P1D/P2D", "workday"),
    ("timeDuration", '"P1Y2"', "natural"),  # an expression whose constant value is no literal
])
def test_invalid_timer_literals_are_iso_invalid(kind: str, text: str, calendar: str) -> None:
    findings = run(_timer(kind, text, calendar=calendar))
    assert [f.rule_id for f in findings] == ["iso-invalid"]
    assert findings[0].line == line_of(_timer(kind, text, calendar=calendar), f"<bpmn:{kind}>")
