"""One lint run: safe XML → ids → XSD → SpiffWorkflow's parse → the project rules on the flow model."""

from __future__ import annotations

from dataclasses import dataclass

from engine.bpmn.lint import (
    camunda,
    document,
    expressions,
    joins,
    model,
    property_values,
    reviews,
    structure,
    tasks,
    timer_rules,
)
from engine.bpmn.lint.context import LintContext
from engine.bpmn.lint.findings import Finding, Severity, make
from engine.bpmn.lint.forms import FormCatalog
from engine.bpmn.lint.variables import Availability
from engine.bpmn.parsing import ParsedProcess
from engine.errors import InvalidBpmn


@dataclass(frozen=True)
class LintReport:
    findings: list[Finding]
    parsed: ParsedProcess | None  # SpiffWorkflow's result, reused by deploy when there are no errors
    refused: InvalidBpmn | None = None  # unsafe or malformed XML: deploy re-raises it as it is (hostile-xml)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == Severity.WARNING]

    def refusal(self) -> InvalidBpmn:
        """What deploy raises: the first error's file, line and element, every finding as `findings`."""
        if self.refused is not None:
            return self.refused
        first, errors = self.errors[0], len(self.errors)
        more = f" (and {errors - 1} more error(s))" if errors > 1 else ""
        exc = InvalidBpmn(f"{first.file}:{first.line}: {first.rule_id}: {first.message_en}{more}",
                          file=first.file, line=first.line, element_id=first.element_id)
        exc.extensions["findings"] = [f.to_json() for f in self.findings]  # an RFC 9457 extension member
        return exc


def _sorted(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.line, f.rule_id, f.message_en))


def lint_report(data: bytes, *, file: str, context: LintContext) -> LintReport:
    tree, findings, refused = document.read(data, file)
    if tree is None:
        return LintReport(findings, None, refused)
    duplicates = document.duplicate_ids(tree, file)
    dangling = document.dangling_references(tree, file) if not duplicates else []
    findings += duplicates + dangling
    findings += document.generated_ids(tree, file)
    schema = document.schema_errors(tree, file, skip_duplicate_ids=bool(duplicates))
    findings += schema
    if duplicates or dangling or schema:
        return LintReport(_sorted(findings), None)  # the flow model needs unique ids, whole references, valid XSD
    spiff = document.spiff_parse(data, file)
    doc = model.build(tree, file)
    forms = FormCatalog(context.forms_dir)
    names = Availability(doc, forms)
    project: list[Finding] = [
        *structure.check(doc),
        *joins.check(doc),
        *expressions.check(doc, names),
        *timer_rules.check(doc),
        *tasks.check(doc, context, forms),
        *reviews.check(doc),
        *property_values.check(doc),
        *camunda.check(doc),
    ]
    findings += project
    if spiff.finding is not None:
        findings += _spiff_finding(spiff.finding, spiff.sandbox, project)
    return LintReport(_sorted(findings), spiff.parsed)


def _spiff_finding(finding: Finding, sandbox: bool, project: list[Finding]) -> list[Finding]:
    """SpiffWorkflow stops at its first complaint; keep it only where no precise rule already covers it."""
    if sandbox:
        if any(f.rule_id == "expression-invalid" for f in project):
            return []
        return [make(finding.file, "expression-invalid", finding.line, finding.message_en, finding.message_zh,
                     finding.element_id)]
    covered = {f.element_id for f in project if f.severity == Severity.ERROR}
    if finding.element_id is not None and finding.element_id in covered:
        return []
    return [finding]


def lint(data: bytes, *, file: str, context: LintContext) -> list[Finding]:
    """Every finding for one BPMN document, ordered by line."""
    return lint_report(data, file=file, context=context).findings
