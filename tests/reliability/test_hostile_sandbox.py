"""Sandbox escapes through the real deploy and start routes (DESIGN.md §3.6, §5): dunder walks, imports, eval and
friends, I/O, huge repetition or exponentiation, deep recursion and nesting, unicode look-alikes, format-string
walks. The AST rules refuse each one, at deploy when the text alone shows it (no definition is stored) and at
run time through the bounded helpers when only the data does (no instance is stored): never by a timer, and
nothing ever runs (a marker file a shell escape would create never appears).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Auth
from tests.reliability.hostile import Tally, inspector, problem_of, unchanged, upload_bpmn

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="escape_definitions"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  targetNamespace="http://hohhot.example/tests">
  <bpmn:process id="escape" isExecutable="true">
    <bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="calendar" value="natural" /></spiffworkflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="compute"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:intermediateCatchEvent id="wait"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDuration>{timer}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:exclusiveGateway id="decide" default="f_other"><bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f_yes</bpmn:outgoing><bpmn:outgoing>f_other</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:endEvent id="end_yes"><bpmn:incoming>f_yes</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="end_other"><bpmn:incoming>f_other</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute" />
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="wait" />
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="decide" />
    <bpmn:sequenceFlow id="f_yes" sourceRef="decide" targetRef="end_yes">
      <bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_other" sourceRef="decide" targetRef="end_other" />
  </bpmn:process>
</bpmn:definitions>
"""


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def static_escapes(marker: Path) -> list[str]:
    """Refused from the text alone."""
    shell = f"touch {marker}"
    return [
        f"__import__('os').system('{shell}')",
        "import os",
        "from os import system",
        "().__class__.__bases__[0].__subclasses__()",
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen']",
        "x = {}.__class__.__mro__",
        "y = 'x'.join.__self__",
        "getattr(1, '__class__')",
        "setattr(x, 'a', 1)",
        "eval('1 + 1')",
        "exec('y = 1')",
        "compile('1', 'f', 'eval')",
        "open('/etc/passwd').read()",
        "globals()",
        "locals()",
        "vars()",
        "dir()",
        "type(1)",
        "object()",
        "breakpoint()",
        "__builtins__",
        "__loader__.load_module('os')",
        "f = lambda: 1",
        "def f():\n    return f()\nf()",
        "class A:\n    pass",
        "while True:\n    pass",
        "try:\n    x = 1\nexcept Exception:\n    pass",
        "with open('x') as f:\n    pass",
        "raise SystemExit(1)",
        "assert False",
        "global x",
        "y = (x := 1)",
        "async def f():\n    pass",
        "y = 9 ** 9 ** 9",
        "y = 2 ** 100000",
        "y = 10 ** n",
        "y = 'a' * 10 ** 10",
        "y = [0] * 10 ** 9",
        "y = 1 << 100000",
        "y = f'{x.__class__}'",
        "y = '{0.__class__}'.format(1)",
        "y = '{a}'.format_map({'a': 1})",
        "y = f'{1:>999999999}'",
        "y = f'{1:{w}}'",
        "y = [*range(3)]",
        "y = {**{}}",
        "ｅｖａｌ('1')",  # fullwidth letters: Python reads them as `eval`
        "__ｉｍｐｏｒｔ__('os')",
        "y = 1 if " + "(" * 500 + "1" + ")" * 500 + " else 0",
        "y = " + "-" * 100_000 + "1",
        "y = " + "[" * 5000 + "]" * 5000,
        "y = 1\n" * 20_000,  # longer than the source limit
        "y = '\x00'",
    ]


RUNTIME_ESCAPES = [
    # (script, start variables): only the data makes them big; the bounded helpers refuse at run time.
    ("y = s * n", {"s": "a", "n": 10**9}),
    ("y = [0] * n", {"n": 10**9}),
    ("y = s + s", {"s": "a" * 90_000}),
    ("y = n * n * n * n", {"n": 10**30}),
    ("y = n << 400", {"n": 10**50}),
    ("y = [i for i in range(n)]", {"n": 10**9}),
    ("y = 0\nfor i in range(100000):\n    for j in range(100000):\n        y += 1", {}),
    ("y = s.replace('a', s)", {"s": "a" * 1000}),
    ("y = ''.join([s] * 20)", {"s": "a" * 10_000}),
    ("y = '%s' % s + s", {"s": "a" * 60_000}),
    ("y = str(n) * 2000", {"n": 10**99}),
    ("y = s.__class__", {"s": "a"}),  # static, but listed here too: the start never runs it (deploy refuses)
]


def _bpmn(script: str = "y = 1", condition: str = "True", timer: str = "PT1S") -> bytes:
    return PROCESS.format(script=_xml(script), condition=_xml(condition), timer=_xml(timer)).encode("utf-8")


def _refused_at_start(app: Flask, client: FlaskClient, headers: dict[str, str], variables: dict[str, Any],
                      what: str) -> None:
    """The definition deployed; starting it runs the script, which the bounded helpers stop: a clear problem,
    no instance, quickly (no timer involved)."""
    with unchanged(app):
        started = time.monotonic()
        response = client.post("/api/process-definitions/key/escape/start", json={"variables": variables},
                               headers=headers)
        assert response.status_code in (422, 500), (what, response.status_code)
        assert response.mimetype == "application/problem+json"
        problem = response.get_json()
        assert problem["type"] == "/problems/script-failed" and "compute" in problem["detail"], problem
        assert time.monotonic() - started < 30, f"took too long: {what!r}"


def test_every_sandbox_escape_is_refused_by_the_rules_and_nothing_runs(
        app: Flask, client: FlaskClient, auth: Auth, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    everyone = inspector(auth)
    tally = Tally("sandbox")
    for escape in static_escapes(marker):
        sites = {"script": _bpmn(script=escape), "condition": _bpmn(condition=escape),
                 "timer": _bpmn(timer=escape)}
        for site, bpmn in sites.items():
            started = time.monotonic()
            response = upload_bpmn(client, bpmn, "escape.bpmn", everyone)
            assert time.monotonic() - started < 10, f"refused by a timer? {escape[:60]!r}"
            tally.count(site)
            if site == "script" and response.status_code == 201:  # only running shows it (e.g. 'a' * 10 ** 10)
                _refused_at_start(app, client, everyone, {}, escape)
                continue
            problem = problem_of(response)
            assert problem["type"] in ("/problems/sandbox-violation", "/problems/invalid-bpmn"), (site, problem)
    assert not marker.exists()

    for script, variables in RUNTIME_ESCAPES:
        tally.count("script with data")
        response = upload_bpmn(client, _bpmn(script=script), "escape.bpmn", everyone)
        if response.status_code == 422:  # the text alone showed it
            continue
        assert response.status_code in (200, 201), response.get_json()
        _refused_at_start(app, client, everyone, variables, script)
    assert client.get("/api/process-instances", headers=everyone).get_json()["items"] == []
    tally.write()
