"""Departments, forms, topics, review limits, deemed approval and engine properties."""

from __future__ import annotations

import pytest

from engine.bpmn.lint import LintContext
from tests.unit.bpmn.lint_support import CONTEXT, FORMS, flows, line_of, rules, run


def _task(task: str, *, lanes: str = "") -> str:
    return lanes + f"""    <bpmn:startEvent id="start" />
{task}
    <bpmn:endEvent id="done" />
""" + flows("start>work", "work>done")


def test_a_lane_id_is_the_department_and_an_unknown_lane_is_reported_once_at_the_lane() -> None:
    lanes = """    <bpmn:laneSet id="lanes">
      <bpmn:lane id="{lane}"><bpmn:flowNodeRef>work</bpmn:flowNodeRef><bpmn:flowNodeRef>other</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
"""
    task = """    <bpmn:userTask id="work" camunda:formKey="opinion" />
    <bpmn:userTask id="other" camunda:formKey="opinion" />"""
    body = _task(task, lanes=lanes.format(lane="nrp")).replace(flows("work>done"), flows("work>other", "other>done"))
    assert rules(body) == []
    bad = body.replace('lane id="nrp"', 'lane id="planning"')
    findings = run(bad)
    assert [(f.rule_id, f.line) for f in findings] == [("unknown-department", line_of(bad, 'lane id="planning"'))]


def test_unknown_departments_are_skipped_when_departments_toml_is_absent() -> None:
    task = '    <bpmn:userTask id="work" camunda:candidateGroups="somewhere" camunda:formKey="opinion" />'
    assert rules(_task(task)) == ["unknown-department"]
    assert rules(_task(task), context=LintContext(forms_dir=FORMS)) == []


def test_the_department_property_must_be_a_known_code() -> None:
    task = """    <bpmn:userTask id="work" camunda:candidateGroups="nrp" camunda:formKey="opinion">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="department" value="planning_bureau" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>"""
    findings = run(_task(task))
    assert [(f.rule_id, f.line) for f in findings] == [("unknown-department", line_of(_task(task), "planning_bureau"))]


def test_forms_are_skipped_without_a_forms_directory_and_unsafe_names_are_invalid() -> None:
    task = '    <bpmn:userTask id="work" camunda:candidateGroups="nrp" camunda:formKey="nothing_here" />'
    assert rules(_task(task), context=LintContext(departments=frozenset({"nrp"}))) == []
    traversal = """    <bpmn:userTask id="work" camunda:candidateGroups="nrp">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="../config.schema.json" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>"""
    findings = run(_task(traversal))
    assert [f.rule_id for f in findings] == ["form-invalid"] and "plain" in findings[0].message_en


def test_topics_are_skipped_when_the_worker_registry_is_unknown() -> None:
    task = '    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="archive.store" />'
    assert rules(_task(task)) == ["unknown-topic"]
    assert rules(_task(task), context=LintContext(forms_dir=FORMS)) == []


def test_a_spiff_operator_topic_is_read_too() -> None:
    task = """    <bpmn:serviceTask id="work">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="permit.issue"><spiffworkflow:parameters /></spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>"""
    assert rules(_task(task)) == []
    assert rules(_task(task.replace("permit.issue", "archive.store"))) == ["unknown-topic"]


def _review(properties: str, timer: str = "") -> str:
    return f"""    <bpmn:startEvent id="start" />
    <bpmn:userTask id="review" camunda:candidateGroups="hc" camunda:formKey="opinion">
      <bpmn:extensionElements><spiffworkflow:properties>
{properties}
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
{timer}    <bpmn:exclusiveGateway id="merge" /><bpmn:endEvent id="done" />
""" + flows("start>review", "review>merge", "merge>done") + (flows("timeout>merge") if timer else "")


def _limits(committed: int, statutory: int) -> str:
    return (f'        <spiffworkflow:property name="limit_committed_wd" value="{committed}" />\n'
            f'        <spiffworkflow:property name="limit_statutory_wd" value="{statutory}" />')


def _timer(*, interrupting: bool = True, text: str = "P15D", calendar: str = "") -> str:
    cancel = "" if interrupting else ' cancelActivity="false"'
    props = (f'<bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="calendar" '
             f'value="{calendar}" /></spiffworkflow:properties></bpmn:extensionElements>') if calendar else ""
    return f"""    <bpmn:boundaryEvent id="timeout" attachedToRef="review"{cancel}>{props}
      <bpmn:timerEventDefinition id="timeout_def"><bpmn:timeDuration>{text}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
"""


def test_a_silent_review_with_its_deemed_approval_timer_is_clean() -> None:
    assert rules(_review(_limits(15, 15), _timer())) == []


def test_committed_limit_beyond_the_statutory_limit() -> None:
    assert rules(_review(_limits(20, 15), _timer(text="P20D"))) == ["review-task-limits"]


def test_an_escalating_review_must_not_be_ended_by_an_interrupting_timer() -> None:
    escalating = _limits(15, 15) + '\n        <spiffworkflow:property name="silent_default" value="false" />'
    body = _review(escalating, _timer())
    findings = run(body)
    assert [(f.rule_id, f.line, f.element_id) for f in findings] == [
        ("review-deemed-approval", line_of(body, 'id="timeout"'), "timeout")]
    assert rules(_review(escalating, _timer(interrupting=False))) == []
    # no timer at all is fine for an escalating review (only the merge gateway is now pointless)
    assert rules(_review(escalating)) == ["gateway-one-outgoing"]


def test_a_deemed_approval_timer_on_natural_days_is_a_warning() -> None:
    assert rules(_review(_limits(15, 15), _timer(calendar="natural"))) == ["review-timer-limit"]


@pytest.mark.parametrize("where, prop, value", [
    ("review", "limit_committed_wd", "ten"),
    ("review", "silent_default", "yes"),
    ("review", "pauses_clock", "Supplement Docs"),
    ("timer", "pausable", "maybe"),
    ("timer", "pausable", "true"),  # with calendar natural: only workday timers pause
    ("process", "variables", "a, 2b"),
    ("review", "retries", "3"),  # retries belong on service tasks
    ("timer", "limit_statutory_wd", "5"),  # limits belong on user tasks
])
def test_bad_engine_properties(where: str, prop: str, value: str) -> None:
    line = f'        <spiffworkflow:property name="{prop}" value="{value}" />'
    if where == "review":
        body, properties = _review(_limits(15, 15) + "\n" + line, _timer()), ""
    elif where == "timer":
        body = _review(_limits(15, 15), _timer(calendar="natural" if prop == "pausable" else "workday"))
        body = body.replace('value="natural" />', f'value="natural" />{line.strip()}').replace(
            'value="workday" />', f'value="workday" />{line.strip()}')
        properties = ""
    else:
        body, properties = _review(_limits(15, 15), _timer()), "\n" + line
    found = [f.rule_id for f in run(body, properties=properties)]
    assert "property-invalid" in found, found
    assert set(found) <= {"property-invalid", "review-timer-limit"}


def test_a_pausing_task_is_fine() -> None:
    task = """    <bpmn:userTask id="work" camunda:candidateGroups="window" camunda:formKey="application">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="pauses_clock" value="expert_review" />
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>"""
    assert rules(_task(task)) == []


def test_the_context_forms_directory_is_the_one_read() -> None:
    assert CONTEXT.forms_dir == FORMS and (FORMS / "opinion.schema.json").is_file()
