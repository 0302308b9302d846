"""JUEL conditions translated into the sandbox's Python (engine/bpmn/juel.py): the subset, JUEL's precedence,
evaluation against task data, refusals with a column, and deploy/lint refusing what is outside the subset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.bpmn import juel, script_env
from engine.bpmn.lint import LintContext, lint
from engine.bpmn.parsing import load_process
from engine.errors import InvalidBpmn
from tests.conftest import DATA


def evaluate(text: str, **data: Any) -> Any:
    return eval(script_env.compile_expression(juel.translate(text)), {"__builtins__": {}}, data)  # noqa: S307


@pytest.mark.parametrize(("text", "data", "expected"), [
    ("${approved}", {"approved": True}, True),
    ("${!approved}", {"approved": True}, False),
    ("${not rejected}", {"rejected": False}, True),
    ("${amount > 1000 && region == 'A'}", {"amount": 1500, "region": "A"}, True),
    ("${amount > 1000 && region == 'A'}", {"amount": 1500, "region": "B"}, False),
    ("${amount > 1000 and region eq \"A\"}", {"amount": 900, "region": "A"}, False),
    ("${a || b}", {"a": False, "b": True}, True),
    ("${a or b and c}", {"a": False, "b": True, "c": False}, False),  # and binds tighter than or
    ("${!a == b}", {"a": True, "b": False}, True),  # JUEL: (!a) == b; Python's `not a == b` would differ
    ("${x ne 3 && y ge -2 && y le 5 && z lt 1.5 && w gt 0}", {"x": 4, "y": -2, "z": 1, "w": 1}, True),
    ("${empty comment}", {"comment": ""}, True),
    ("${empty comment}", {"comment": None}, True),
    ("${empty items}", {"items": []}, True),
    ("${empty items}", {"items": [0]}, False),
    ("${empty count}", {"count": 0}, False),  # 0 is not empty in JUEL
    ("${!empty comment}", {"comment": "ok"}, True),
    ("${x == null}", {"x": None}, True),
    ("${flag == true && other != false}", {"flag": True, "other": True}, True),
    ("#{ (a || b) && c }", {"a": True, "b": False, "c": True}, True),
    ("${name == 'it\\'s'}", {"name": "it's"}, True),
])
def test_translated_conditions_evaluate_as_juel(text: str, data: dict[str, Any], expected: Any) -> None:
    assert evaluate(text, **data) is expected


@pytest.mark.parametrize(("text", "fragment"), [
    ("${order.amount > 5}", "property access"),
    ("${items[0]}", "index access"),
    ("${total + tax > 5}", "arithmetic (+)"),
    ("${total - tax > 5}", "arithmetic (-)"),
    ("${n mod 2 == 0}", "remainder (mod)"),
    ("${execution.getVariable('x')}", "property access"),
    ("${check(x)}", "function and method calls"),
    ("${a ? b : c}", "conditional operator"),
    ("Amount: ${amount}", "only one ${…}"),
    ("${a} && ${b}", "only one ${…}"),
    ("${class == 1}", "cannot be used in the sandbox"),
    ("${_secret}", "cannot be used in the sandbox"),
    ("${(a}", "expected ')'"),
    ("${}", "expected a variable"),
])
def test_outside_the_subset_is_refused_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(juel.JuelUnsupported, match=None) as caught:
        juel.translate(text)
    assert fragment in str(caught.value)


def test_plain_python_and_literals_are_left_alone() -> None:
    assert not juel.is_juel("amount > 1000") and juel.python_or_text("amount > 1000") == "amount > 1000"
    assert juel.python_or_text("${order.x}") == "${order.x}"  # untranslatable: lint reports it


def _permit_with(tmp_path: Path, old: str, new: str) -> bytes:
    return (DATA / "camunda" / "camunda_permit.bpmn").read_text(encoding="utf-8").replace(old, new).encode()


def test_parse_translates_and_refuses_naming_line_and_element(tmp_path: Path) -> None:
    parsed = load_process((DATA / "camunda" / "camunda_permit.bpmn").read_bytes(), file="camunda_permit.bpmn")
    gateway = next(s for s in parsed.spec.task_specs.values() if getattr(s, "bpmn_id", None) == "gw_amount")
    conditions = [c.args[0] for c, _ in gateway.cond_task_specs if c is not None]
    assert conditions == ["((amount > 1000) and (region == 'A'))"]
    data = _permit_with(tmp_path, "${!approved}", "${approved.no}")
    with pytest.raises(InvalidBpmn) as caught:
        load_process(data, file="bad.bpmn")
    line = next(n for n, row in enumerate(data.decode().splitlines(), 1) if "approved.no" in row)
    assert (caught.value.extensions["line"], caught.value.extensions["element_id"]) == (line, "flow_rejected")


def test_lint_judges_juel_gateways_by_their_translation(tmp_path: Path) -> None:
    context = LintContext(forms_dir=DATA / "camunda" / "forms", departments=frozenset({"window", "nrp"}))
    clean = lint((DATA / "camunda" / "camunda_permit.bpmn").read_bytes(), file="p.bpmn", context=context)
    assert [f.rule_id for f in clean if f.severity == "error"] == []
    # ${approved} / ${approved} is not exhaustive any more: the gateway needs a default flow.
    broken = lint(_permit_with(tmp_path, "${!approved}", "${approved}"), file="p.bpmn", context=context)
    assert [f.rule_id for f in broken if f.severity == "error"] == ["gateway-no-default"]
    unknown = lint(_permit_with(tmp_path, "${approved}", "${approvd}"), file="p.bpmn", context=context)
    assert "unknown-variable" in {f.rule_id for f in unknown}
