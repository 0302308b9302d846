"""Build small BPMN documents for lint tests and run lint on them with a fixed context."""

from __future__ import annotations

from engine.bpmn.lint import Finding, LintContext, lint
from tests.conftest import ROOT

FORMS = ROOT / "tests" / "data" / "lint" / "forms"
CONTEXT = LintContext(forms_dir=FORMS, departments=frozenset({"window", "nrp", "hc"}),
                      topics=lambda: frozenset({"permit.issue", "applicant.notify"}))

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="test_definitions" targetNamespace="urn:test">
  <bpmn:process id="test_process" isExecutable="true">
    <bpmn:extensionElements>
      <spiffworkflow:properties>
        <spiffworkflow:property name="calendar" value="workday" />{properties}
      </spiffworkflow:properties>
    </bpmn:extensionElements>
"""
TAIL = """  </bpmn:process>
</bpmn:definitions>
"""


def document(body: str, *, properties: str = "") -> bytes:
    return (HEAD.format(properties=properties) + body + TAIL).encode("utf-8")


def flows(*pairs: str) -> str:
    """'a>b' pairs -> sequence flows named flow_a_b."""
    lines = []
    for pair in pairs:
        source, target = pair.split(">")
        lines.append(f'    <bpmn:sequenceFlow id="flow_{source}_{target}" sourceRef="{source}" targetRef="{target}" />')
    return "\n".join(lines) + "\n"


def run(body: str, *, properties: str = "", context: LintContext = CONTEXT) -> list[Finding]:
    return lint(document(body, properties=properties), file="test.bpmn", context=context)


def rules(body: str, **kwargs: object) -> list[str]:
    return [f.rule_id for f in run(body, **kwargs)]  # type: ignore[arg-type]


def line_of(body: str, needle: str) -> int:
    """The document line holding `needle` (the head has a fixed number of lines)."""
    text = HEAD.format(properties="") + body
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)
