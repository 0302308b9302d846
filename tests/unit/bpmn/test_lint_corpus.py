"""The lint corpus: tests/data/lint/<rule-id>.bpmn breaks exactly one rule, at the lines marked
`<!-- expect: <rule-id> -->`; the clean files and the shipped processes yield nothing (DESIGN.md §4)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.bpmn.lint import RULES, LintContext, lint, load_departments
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "lint"
MARKER = re.compile(r"<!-- expect: ([a-z-]+) -->")
CONTEXT = LintContext(forms_dir=CORPUS / "forms", departments=frozenset({"window", "nrp", "hc"}),
                      topics=lambda: frozenset({"permit.issue", "applicant.notify"}))


def expected(path: Path) -> set[tuple[int, str]]:
    return {(number, rule) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            for rule in MARKER.findall(line)}


def found(path: Path, context: LintContext = CONTEXT) -> set[tuple[int, str]]:
    return {(f.line, f.rule_id) for f in lint(path.read_bytes(), file=path.name, context=context)}


def test_every_rule_has_a_corpus_file_and_every_file_a_rule() -> None:
    assert {p.stem for p in CORPUS.glob("*.bpmn")} == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_corpus_file_yields_exactly_its_rule_at_the_marked_lines(rule: str) -> None:
    path = CORPUS / f"{rule}.bpmn"
    marks = expected(path)
    assert marks and {r for _, r in marks} == {rule}, "the corpus file must mark its own rule"
    assert found(path) == marks


@pytest.mark.parametrize("path", sorted((CORPUS / "clean").glob("*.bpmn")), ids=lambda p: p.name)
def test_clean_files_yield_nothing(path: Path) -> None:
    assert lint(path.read_bytes(), file=path.name, context=CONTEXT) == []


@pytest.mark.parametrize("path", sorted((ROOT / "processes").glob("*.bpmn")), ids=lambda p: p.name)
def test_shipped_processes_lint_clean_even_strict(path: Path) -> None:
    """No errors and no warnings (what `approvals lint --strict` demands), with the real forms, departments and
    worker topics."""
    from engine.cli_lint import known_topics

    context = LintContext(forms_dir=ROOT / "forms",
                          departments=load_departments(ROOT / "processes" / "departments.toml"), topics=known_topics)
    findings = lint(path.read_bytes(), file=path.name, context=context)
    assert [f.format() for f in findings] == []


def test_every_rule_is_documented_in_the_designers_manual() -> None:
    manual = (ROOT / "processes" / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `([a-z-]+)`", manual, flags=re.M))
    assert documented == set(RULES)
