"""property-invalid: engine properties (DESIGN.md §4, §6) with a bad value or on an element they do not apply to.
Properties the engine does not know are left alone (designers may keep their own metadata)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from engine.bpmn.lint.expressions import timer_calendar
from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import ACTIVITIES, CONTAINERS, HUMAN_TASKS, Document, Node, Prop
from engine.bpmn.lint.variables import declared
from engine.bpmn.timer_values import CALENDARS, NATURAL

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_REASON = re.compile(r"^[a-z][a-z0-9_]*$")

# A value check returns (English, Chinese) descriptions of what is expected, or None when the value is fine.
Check = Callable[[str], tuple[str, str] | None]


def _choice(*allowed: str) -> Check:
    def check(value: str) -> tuple[str, str] | None:
        if value.strip() in allowed:
            return None
        return f"one of {', '.join(allowed)}", f"{'、'.join(allowed)} 之一"
    return check


def _integer(minimum: int) -> Check:
    def check(value: str) -> tuple[str, str] | None:
        try:
            if int(value.strip()) >= minimum:
                return None
        except ValueError:
            pass
        return f"a whole number >= {minimum}", f"不小于 {minimum} 的整数"
    return check


def _matches(pattern: re.Pattern[str], en: str, zh: str) -> Check:
    def check(value: str) -> tuple[str, str] | None:
        return None if pattern.match(value.strip()) else (en, zh)
    return check


def _identifiers(value: str) -> tuple[str, str] | None:
    names = declared(value)
    if names and all(_IDENTIFIER.match(n) and not n.startswith("_") for n in names):
        return None
    return "comma-separated variable names (a, b, c)", "以逗号分隔的变量名（a, b, c）"


def _is_timer(node: Node | None) -> bool:
    return node is not None and node.has_definition("timerEventDefinition")


def _is_review(node: Node | None) -> bool:
    return node is not None and node.kind == "userTask" and "limit_committed_wd" in node.properties


# name -> (value check, where it applies, where it applies in words (en, zh)); node None = the process element
_PROCESS = "process"
RULES: dict[str, tuple[Check, Callable[[Node | None], bool], tuple[str, str]]] = {
    "calendar": (_choice(*CALENDARS), lambda n: n is None or _is_timer(n) or n.kind in CONTAINERS,
                 ("a timer event, a subprocess or the process", "定时器事件、子流程或流程")),
    "pausable": (_choice("true", "false"), _is_timer, ("a timer event", "定时器事件")),
    "silent_default": (_choice("true", "false"), _is_review,
                       ("a review task (a user task with limit_committed_wd)", "审查任务（设置了 limit_committed_wd 的用户任务）")),
    "limit_committed_wd": (_integer(1), lambda n: n is not None and n.kind == "userTask", ("a user task", "用户任务")),
    "limit_statutory_wd": (_integer(1), lambda n: n is not None and n.kind == "userTask", ("a user task", "用户任务")),
    "pauses_clock": (_matches(_REASON, "a reason such as supplement, expert_review, public_notice or hearing",
                              "暂停原因，如 supplement、expert_review、public_notice、hearing"),
                     lambda n: n is not None and n.kind in ACTIVITIES, ("a task or subprocess", "任务或子流程")),
    "retries": (_integer(0), lambda n: n is not None and n.kind == "serviceTask", ("a service task", "服务任务")),
    "priority": (_integer(-(2**31)), lambda n: n is not None and n.kind == "serviceTask", ("a service task", "服务任务")),
    "variables": (_identifiers, lambda n: n is None, ("the process", "流程")),
    "resultVariable": (_matches(_IDENTIFIER, "a variable name", "变量名"),
                       lambda n: n is not None and (n.kind in HUMAN_TASKS or n.kind == "serviceTask"),
                       ("a user or service task", "用户任务或服务任务")),
}


def check(doc: Document) -> Iterator[Finding]:
    for process in doc.processes:
        for name, prop in doc.process_properties.get(process.id, {}).items():
            yield from _check(doc, name, prop, None, process.id, _PROCESS)
    for node in doc.all_nodes():
        for name, prop in node.properties.items():
            yield from _check(doc, name, prop, node, node.id, node.kind)
        pausable = node.properties.get("pausable")
        if _is_timer(node) and pausable is not None and pausable.value.strip() == "true" \
                and (timer_calendar(node) or NATURAL) == NATURAL:
            yield make(doc.file, "property-invalid", pausable.line,
                       f"timer {node.id} is pausable but counts natural time: only workday timers pause "
                       "(set calendar=workday or drop pausable)",
                       f"定时器 {node.id} 设置了 pausable，但按自然时间计算：只有工作日定时器可以暂停"
                       "（请设置 calendar=workday 或删除 pausable）", node.id)


def _check(doc: Document, name: str, prop: Prop, node: Node | None, element_id: str, kind: str) -> Iterator[Finding]:
    rule = RULES.get(name)
    if rule is None:
        return
    value_check, applies, where = rule
    if not applies(node):
        yield make(doc.file, "property-invalid", prop.line,
                   f"property {name} does not apply to {kind} {element_id}: it belongs on {where[0]}",
                   f"属性 {name} 不适用于 {kind} {element_id}：它应设置在{where[1]}上", element_id)
        return
    problem = value_check(prop.value)
    if problem is not None:
        yield make(doc.file, "property-invalid", prop.line,
                   f"property {name} of {element_id} must be {problem[0]}, not {prop.value!r}",
                   f"{element_id} 的属性 {name} 必须是{problem[1]}，而不是 {prop.value!r}", element_id)
