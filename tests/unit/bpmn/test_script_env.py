"""The restricted script environment: allowed Python works, everything else is a clean SandboxViolation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.script_env import (
    ALLOWED_FUNCTIONS,
    SandboxEnvironment,
    compile_expression,
    compile_script,
    make_script_engine,
    names_used,
)
from engine.errors import SandboxViolation


@pytest.fixture
def env() -> SandboxEnvironment:
    return SandboxEnvironment()


DATA: dict[str, Any] = {
    "decision": "approve",
    "amount": 2500,
    "region": "A",
    "items": [{"name": "fire", "days": 5}, {"name": "civil", "days": 3}],
    "x": "a",
}


def refused(env: SandboxEnvironment, text: str, mode: str = "eval", data: dict[str, Any] | None = None) -> str:
    context = dict(DATA if data is None else data)
    with pytest.raises(SandboxViolation) as caught:
        if mode == "eval":
            env.evaluate(text, context)
        else:
            env.execute(text, context)
    assert caught.value.expression == text
    return caught.value.detail


# --- what designers write ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('decision == "approve"', True),
        ("decision == 'reject'", False),
        ("amount > 1000 and region == 'A'", True),
        ("amount > 1000 and region == 'B'", False),
        ("len(items) > 0", True),
        ("x in ['a', 'b']", True),
        ("x not in ('a', 'b')", False),
        ("not decision or amount >= 10**3", True),
        ("'high' if amount > 2000 else 'low'", "high"),
        ("sum(item['days'] for item in items)", 8),
        ("max(item['days'] for item in items) <= 5", True),
        ("[item['name'] for item in items if item['days'] > 4]", ["fire"]),
        ("{item['name']: item['days'] for item in items}", {"fire": 5, "civil": 3}),
        ("sorted(items, key=len)[0]['name']", "fire"),
        ("f'{amount:,.2f} yuan'", "2,500.00 yuan"),
        ("'%s-%05d' % (region, amount)", "A-02500"),
        ("region.lower().startswith('a')", True),
        ("', '.join(str(i) for i in range(3))", "0, 1, 2"),
        ("items[0].get('missing', 'none')", "none"),
        ("items[-1:]", [{"name": "civil", "days": 3}]),
        ("amount ** 2 - amount // 7 % 5", 6249998),
        ("round(amount / 3, 2)", 833.33),
        ("'P5D'", "P5D"),
    ],
)
def test_conditions(env: SandboxEnvironment, condition: str, expected: Any) -> None:
    assert env.evaluate(condition, dict(DATA)) == expected


def test_task_data_wins_over_function_names_but_calls_stay_safe(env: SandboxEnvironment) -> None:
    # A form field called "max" or "type" reads as data (Spiff's precedence), and max() is still the function.
    assert env.evaluate("max > 3 and type == 'A'", {"max": 5, "type": "A"}) is True
    assert env.evaluate("max(a, b)", {"max": 5, "a": 1, "b": 2}) == 2


def test_external_context_is_visible_and_task_data_wins(env: SandboxEnvironment) -> None:
    assert env.evaluate("flag and limit", {"limit": 3}, external_context={"flag": True, "limit": 99}) == 3


def test_script_assigns_into_task_data_and_leaves_no_helpers(env: SandboxEnvironment) -> None:
    context = dict(DATA, old="gone")
    script = (
        "total = 0\n"
        "for item in items:\n"
        "    total += item['days']\n"
        "if total > 7:\n"
        "    level = 'long'\n"
        "elif total > 3:\n"
        "    level = 'medium'\n"
        "else:\n"
        "    level = 'short'\n"
        "first, second = items[0]['name'], items[1]['name']\n"
        "items.append({'name': 'extra', 'days': 0})\n"
        "summary = {'total': total, 'names': [i['name'] for i in items]}\n"
        "key = sorted\n"
        "del old\n"
    )
    assert env.execute(script, context) is True
    assert context["total"] == 8 and context["level"] == "long"
    assert (context["first"], context["second"]) == ("fire", "civil")
    assert context["summary"]["names"] == ["fire", "civil", "extra"]
    assert "old" not in context
    assert "key" not in context  # callables never land in task data, as in Spiff
    assert "__builtins__" not in context
    assert not [key for key in context if key.startswith("_") or key in ALLOWED_FUNCTIONS]


def test_script_does_not_write_external_context_back(env: SandboxEnvironment) -> None:
    context = {"a": 1}
    env.execute("b = a + shared", context, external_context={"shared": 2})
    assert context == {"a": 1, "b": 3}
    with pytest.raises(ValueError, match="overwrites"):
        env.execute("b = 1", {"shared": 1}, external_context={"shared": 2})


def test_failed_script_leaves_assignments_out(env: SandboxEnvironment) -> None:
    context = {"a": 1}
    with pytest.raises(ZeroDivisionError):
        env.execute("b = 2\nc = a / 0", context)
    assert context == {"a": 1}


def test_nothing_of_the_real_builtins_is_reachable(env: SandboxEnvironment) -> None:
    assert env.globals["__builtins__"] == {}
    assert set(env.globals) == {"__builtins__"} | ALLOWED_FUNCTIONS
    with pytest.raises(NameError):
        env.evaluate("open", {})
    with pytest.raises(NameError):
        env.execute("x = print", {})


def test_compile_is_cached_and_checks_without_running() -> None:
    assert compile_expression("amount > 1") is compile_expression("amount > 1")
    assert compile_script("a = 1") is compile_script("a = 1")
    with pytest.raises(SandboxViolation, match="import is not allowed") as caught:
        compile_script("x = 1\nimport os")
    assert caught.value.line == 2 and caught.value.expression == "x = 1\nimport os"
    assert caught.value.to_problem()["line"] == 2


def test_names_used() -> None:
    assert names_used("amount > limit and len(items) > 0") == {"amount", "limit", "items"}
    assert names_used("[i for i in items if i > floor]") == {"items", "floor"}
    assert names_used("f'{who} asks {amount:,.2f}'") == {"who", "amount"}
    script = "total = 0\nfor i in items:\n    total += i * rate\nif total:\n    label = 'x'\nresult = label\ncount += 1"
    assert names_used(script, "exec") == {"items", "rate", "count"}
    with pytest.raises(SandboxViolation):
        names_used("__import__('os')")
    with pytest.raises(ValueError):
        names_used("a", "single")


# --- what is refused ---------------------------------------------------------------------------------------------


def test_import_dunder_shell_command_is_refused_and_runs_nothing(env: SandboxEnvironment, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    detail = refused(env, f"__import__('os').system('touch {marker}')")
    assert detail == "name '__import__' is not allowed: names starting with '_' are reserved"
    assert "import is not allowed" == refused(env, f"import os\nos.system('touch {marker}')", "exec")
    assert "import is not allowed" == refused(env, "from os import system", "exec")
    assert refused(env, f"os.system('touch {marker}')", data={"os": "module"}) == (
        "attribute 'system' is not allowed: not an allowed method"
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("().__class__.__mro__[1].__subclasses__()", "attribute '__class__' is not allowed: names starting with '_'"),
        ("x.__class__", "attribute '__class__' is not allowed"),
        ("_secret", "name '_secret' is not allowed"),
        ("'{0.__class__}'.format(1)", "attribute 'format' is not allowed: format strings"),
        ("'{a}'.format_map(items)", "attribute 'format_map' is not allowed"),
        ("lambda: 1", "lambda is not allowed"),
        ("eval('1')", "function 'eval' is not allowed"),
        ("exec('1')", "function 'exec' is not allowed"),
        ("open('/etc/passwd')", "function 'open' is not allowed"),
        ("getattr(x, 'upper')", "function 'getattr' is not allowed"),
        ("compile('1', 'f', 'eval')", "function 'compile' is not allowed"),
        ("type(x)", "function 'type' is not allowed"),
        ("vars()", "function 'vars' is not allowed"),
        ("globals()", "function 'globals' is not allowed"),
        ("locals()", "function 'locals' is not allowed"),
        ("print(x)", "function 'print' is not allowed"),
        ("items[0]()", "only allowed functions and methods can be called"),
        ("x.upper", "attribute 'upper' is not allowed"),
        ("x.encode()", "attribute 'encode' is not allowed"),
        ("(y := 1)", "assignment expressions (:=) are not allowed"),
        ("[*items]", "* unpacking is not allowed"),
        ("max(*items)", "* unpacking is not allowed"),
        ("dict(**items[0])", "** unpacking is not allowed"),
        ("{**items[0]}", "** unpacking is not allowed"),
        ("dict(_x=1)", "keyword '_x' is not allowed"),
        ("x @ x", "the @ operator is not allowed"),
        ("9 ** 9 ** 9", "the exponent of ** must be a number literal between -64 and 64"),
        ("2 ** amount", "the exponent of ** must be a number literal"),
        ("2 ** 65", "the exponent of ** must be a number literal"),
        ("f'{x:>{amount}}'", "f-string format specs must be constant"),
        ("f'{x:>99999}'", "f-string format spec '>99999' is too large"),
        ("(" * 500, "invalid syntax: too many nested parentheses"),
        ("-" * 60000 + "1", "nested too deeply"),
        ("a + " * 20000 + "a", "nested too deeply"),
        ("decision ==", "invalid syntax"),
        ("x = 1", "invalid syntax"),
        ("x\0", "invalid"),
        ("1" * 100_001, "longer than 100000 characters"),
    ],
)
def test_refused_expressions(env: SandboxEnvironment, text: str, message: str) -> None:
    with pytest.raises(SandboxViolation) as caught:
        compile_expression(text)
    assert message in caught.value.detail
    if len(text) <= 100_000:  # an oversized text is not echoed back in the error
        assert message in refused(env, text)


@pytest.mark.parametrize(
    ("script", "message", "line"),
    [
        ("import os", "import is not allowed", 1),
        ("x = 1\nwhile True:\n    pass", "while loops are not allowed", 2),
        ("def f():\n    return 1", "def (function definitions) is not allowed", 1),
        ("class A:\n    pass", "class definitions are not allowed", 1),
        ("with x:\n    pass", "with is not allowed", 1),
        ("try:\n    x = 1\nexcept Exception:\n    pass", "try is not allowed", 1),
        ("global x", "global is not allowed", 1),
        ("raise ValueError", "raise is not allowed", 1),
        ("assert x", "assert is not allowed", 1),
        ("x: int = 1", "annotated assignments are not allowed", 1),
        ("a, *rest = items", "* unpacking is not allowed", 1),
        ("x.y = 1", "attribute 'y' is not allowed", 1),
        ("items[0:1] = []", "assigning to a slice is not allowed", 1),
        ("items[x.pop()] += 1", "augmented assignment to a target that calls a function", 1),
        ("x **= amount", "the exponent of **= must be a number literal", 1),
        ("break", "invalid syntax: 'break' outside loop", 1),
        ("async def f():\n    await g()", "def (function definitions) is not allowed", 1),
        ("match x:\n    case 1:\n        pass", "match statements are not allowed", 1),
        ("for x in items:\n    yield x", "yield is not allowed", 2),
    ],
)
def test_refused_scripts(env: SandboxEnvironment, script: str, message: str, line: int) -> None:
    with pytest.raises(SandboxViolation) as caught:
        compile_script(script)
    assert message in caught.value.detail
    assert caught.value.line == line
    assert message in refused(env, script, "exec")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("'a' * 10**9", "'*' (repetition) would build more than 100000"),
        ("[0] * 10**8", "'*' (repetition) would build more than 100000"),
        ("10**9 * 'a'", "'*' (repetition) would build more than 100000"),
        ("range(10**9)", "range() of more than 100000 numbers is not allowed"),
        ("list(range(10**7))", "range() of more than 100000 numbers is not allowed"),
        ("[x for x in range(100000) for y in range(100000)]", "more than 1000000 iterations"),
        ("sum(1 for a in range(1000) for b in range(1000) for c in range(10))", "more than 1000000 iterations"),
        ("str([[0] * 100000] * 100000)", "str() would build more than 100000"),
        ("f'{[[0] * 100000] * 100000}'", "the f-string would build more than 100000"),
        ("str({i: 'a' * 1000 for i in range(100)}.items())", "str() would build more than 100000"),
        ("'%s' % ([[0] * 100000] * 100000,)", "%-formatting would build more than 100000"),
        ("'%*d' % (5, 1)", "'*' widths in %-formatting are not allowed"),
        ("'a' * 100000 + 'b'", "'+' would build more than 100000"),
        ("','.join(['a' * 100000] * 100)", "str.join() would build more than 100000"),
        ("('a' * 1000).replace('', 'b' * 1000)", "str.replace() would build more than 100000"),
        ("10**64 * 10**64", "'*' would produce a number beyond 10**100"),
        ("(10**60) ** 2", "'**' would produce a number beyond 10**100"),
        ("amount ** 64", "'**' would produce a number beyond 10**100"),
        ("1 << 10**6", "'<<' would produce a number beyond 10**100"),
        ("round(1, -10**9)", "round() takes at most 100 digits"),
        ("sum(items, [])", "sum() adds numbers only"),
        ("x.encode", "attribute 'encode' is not allowed"),
    ],
)
def test_bounded_operations(env: SandboxEnvironment, text: str, message: str) -> None:
    if len(text) <= 100_000:  # an oversized text is not echoed back in the error
        assert message in refused(env, text)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("s = 'a' * 100000\nfor i in range(30):\n    s = s + s", "'+' would build more than 100000"),
        ("s = ['a'] * 100000\nfor i in range(30):\n    s += s", "list.extend() would build more than 100000"),
        ("s = [1]\nfor i in range(30):\n    s.extend(s)", "list.extend() would build more than 100000"),
        ("s = [1]\nfor i in range(30):\n    s *= 2", "'*' (repetition) would build more than 100000"),
        ("n = 10**50\nfor i in range(200):\n    n = n + n", "'+' would produce a number beyond 10**100"),
        ("big = [0] * 100000\nkeep = []\nfor i in range(1000):\n    keep.append(big[:])", "built more than 10000000"),
        ("for i in range(100000):\n    for j in range(100000):\n        pass", "more than 1000000 iterations"),
        ("d = {}\nd['k'] = 'a' * 60000\nd['k'] += d['k']", "'+' would build more than 100000"),
    ],
)
def test_bounded_scripts(env: SandboxEnvironment, script: str, message: str) -> None:
    assert message in refused(env, script, "exec")


def test_run_time_violation_reports_its_line(env: SandboxEnvironment) -> None:
    with pytest.raises(SandboxViolation) as caught:
        env.execute("a = 1\nb = range(10**9)", {})
    assert caught.value.line == 2
    assert caught.value.to_problem()["expression"] == "a = 1\nb = range(10**9)"


def test_methods_only_on_plain_builtin_values(env: SandboxEnvironment) -> None:
    class Sneaky(dict):  # e.g. an object slipped into external context
        def get(self, *args: Any) -> str:
            return "side effect"

    with pytest.raises(SandboxViolation, match="method 'get' is not allowed on Sneaky values"):
        env.evaluate("thing.get('a')", {}, external_context={"thing": Sneaky()})
    with pytest.raises(SandboxViolation, match="method 'upper' is not allowed on int values"):
        env.evaluate("amount.upper()", dict(DATA))


# --- end to end through SpiffWorkflow ----------------------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="defs" targetNamespace="http://example.org/bpmn">
  <bpmn:process id="sandbox_demo" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f_start</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="score" name="Score the application">
      <bpmn:incoming>f_start</bpmn:incoming><bpmn:outgoing>f_score</bpmn:outgoing>
      <bpmn:script>score = sum(item['days'] for item in items) * 2
label = f"{applicant}: {score}"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="decide" default="f_reject">
      <bpmn:incoming>f_score</bpmn:incoming>
      <bpmn:outgoing>f_approve</bpmn:outgoing><bpmn:outgoing>f_reject</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_start" sourceRef="start" targetRef="score"/>
    <bpmn:sequenceFlow id="f_score" sourceRef="score" targetRef="decide"/>
    <bpmn:sequenceFlow id="f_approve" sourceRef="decide" targetRef="approved">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">CONDITION</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_reject" sourceRef="decide" targetRef="rejected"/>
    <bpmn:scriptTask id="approved"><bpmn:incoming>f_approve</bpmn:incoming><bpmn:outgoing>f_a_end</bpmn:outgoing>
      <bpmn:script>branch = 'approved'</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="rejected"><bpmn:incoming>f_reject</bpmn:incoming><bpmn:outgoing>f_r_end</bpmn:outgoing>
      <bpmn:script>branch = 'rejected'</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="end_a"><bpmn:incoming>f_a_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_r"><bpmn:incoming>f_r_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f_a_end" sourceRef="approved" targetRef="end_a"/>
    <bpmn:sequenceFlow id="f_r_end" sourceRef="rejected" targetRef="end_r"/>
  </bpmn:process>
</bpmn:definitions>
"""


def run_process(condition: str, variables: dict[str, Any]) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    xml = BPMN.replace("CONDITION", condition.replace("&", "&amp;").replace("<", "&lt;"))
    parser.add_bpmn_str(xml.encode(), filename="sandbox_demo.bpmn")
    spec = parser.get_spec("sandbox_demo")
    workflow = BpmnWorkflow(spec, parser.get_subprocess_specs("sandbox_demo"), script_engine=make_script_engine())
    workflow.get_tasks(state=TaskState.READY)[0].data.update(variables)
    workflow.do_engine_steps()
    return workflow


def completed_ids(workflow: BpmnWorkflow) -> set[str]:
    return {task.task_spec.bpmn_id for task in workflow.get_tasks(state=TaskState.COMPLETED) if task.task_spec.bpmn_id}


@pytest.mark.parametrize(
    ("decision", "branch"), [("approve", "approved"), ("reject", "rejected")]
)
def test_gateway_and_script_task_run_in_the_sandbox(decision: str, branch: str) -> None:
    variables = {"decision": decision, "applicant": "张三", "items": [{"days": 5}, {"days": 3}]}
    workflow = run_process('decision == "approve" and score > 10 and len(items) > 0', variables)
    assert workflow.is_completed()
    assert workflow.data["branch"] == branch
    assert workflow.data["score"] == 16 and workflow.data["label"] == "张三: 16"
    assert branch in completed_ids(workflow)
    assert not ({"approved", "rejected"} - {branch}) & completed_ids(workflow)
    assert not [key for key in workflow.data if key.startswith("_") or key in ALLOWED_FUNCTIONS]


def test_malicious_gateway_condition_fails_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    condition = f"__import__('os').system('touch {marker}') == 0"
    variables = {"decision": "approve", "applicant": "x", "items": []}
    with pytest.raises(Exception) as caught:
        run_process(condition, variables)
    cause = caught.value if isinstance(caught.value, SandboxViolation) else caught.value.__context__
    assert isinstance(cause, SandboxViolation)
    assert "names starting with '_' are reserved" in cause.detail
    assert not marker.exists()


def test_bomb_in_a_gateway_condition_fails_cleanly() -> None:
    workflow_error = None
    try:
        run_process("[0] * 10**8", {"decision": "approve", "applicant": "x", "items": []})
    except Exception as err:  # Spiff wraps it; the sandbox violation is the cause
        workflow_error = err
    assert workflow_error is not None
    cause = workflow_error if isinstance(workflow_error, SandboxViolation) else workflow_error.__context__
    assert isinstance(cause, SandboxViolation) and "'*' (repetition)" in cause.detail
