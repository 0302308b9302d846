"""`approvals lint`: precise, line-numbered feedback on BPMN files for process designers (and every deploy).

One module per rule group; every rule is catalogued in `findings.RULES` and documented in processes/README.md.
"""

from engine.bpmn.lint.context import LintContext, load_departments
from engine.bpmn.lint.findings import RULES, Finding, Rule, Severity, locale_from_env
from engine.bpmn.lint.pipeline import LintReport, lint, lint_report

__all__ = ["RULES", "Finding", "LintContext", "LintReport", "Rule", "Severity", "lint", "lint_report",
           "load_departments", "locale_from_env"]
