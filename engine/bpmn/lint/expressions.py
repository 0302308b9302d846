"""Every piece of Python in the BPMN compiled in the sandbox (`expression-invalid`), the names it reads checked
against what earlier steps provide (`unknown-variable`), and timer texts checked as ISO 8601 (`iso-invalid`)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

from lxml import etree

from engine.bpmn import juel, script_env
from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import SPIFF_NS, Document, Node, bpmn
from engine.bpmn.lint.variables import Availability, unknown
from engine.bpmn.properties import inherited_property
from engine.bpmn.timer_values import CALENDARS, NATURAL, TimerTextError, check_cycle, check_duration, is_literal, \
    parse_datetime
from engine.errors import SandboxViolation

TIMER_KINDS = ("timeDuration", "timeDate", "timeCycle")
# Text that is meant as an ISO literal (P…, R…/…, a date) even though it does not parse as one.
_LOOKS_ISO = re.compile(r"^(?:P[0-9T]|R[0-9]*/|[0-9]{4}-[0-9]{2})", re.IGNORECASE)


@dataclass(frozen=True)
class Site:
    """One expression or script: where it is written and what it may read."""

    what: str  # for messages: "condition", "script", …
    what_zh: str
    text: str
    mode: str  # "eval" or "exec"
    element: etree._Element  # the element holding the text (its line + the text's own line = the real line)
    element_id: str
    known: set[str]


def check(doc: Document, names: Availability) -> Iterator[Finding]:
    for site in _sites(doc, names):
        yield from _check_site(doc, site)
    for node in doc.all_nodes():
        for definition in node.definitions():
            if definition.tag == bpmn("timerEventDefinition"):
                yield from _timer(doc, node, definition, names)


def _line(site_element: etree._Element, line_in_text: int | None) -> int:
    base = site_element.sourceline or 1
    if not line_in_text:
        return base
    return base + line_in_text - 1  # the text starts on the element's line (a leading newline counts)


def _check_site(doc: Document, site: Site) -> Iterator[Finding]:
    if not site.text.strip():
        yield make(doc.file, "expression-invalid", site.element.sourceline,
                   f"the {site.what} of {site.element_id} is empty", f"{site.element_id} 的{site.what_zh}为空",
                   site.element_id)
        return
    if site.mode == "eval" and juel.is_juel(site.text):  # Camunda Modeler's ${…}: checked as its translation
        try:
            site = replace(site, text=juel.translate(site.text))
        except juel.JuelUnsupported as exc:
            yield make(doc.file, "juel-unsupported", site.element.sourceline,
                       f"the JUEL {site.what} of {site.element_id} is outside the supported subset: {exc}. "
                       "Supported: variables, literals, comparisons, && || ! and or not, empty, parentheses",
                       f"{site.element_id} 的 JUEL {site.what_zh}超出支持的子集：{exc}。支持：变量、字面量、比较、"
                       "&& || ! and or not、empty、括号", site.element_id)
            return
    try:
        used = script_env.names_used(site.text, site.mode)
    except SandboxViolation as exc:
        yield make(doc.file, "expression-invalid", _line(site.element, exc.line),
                   f"the {site.what} of {site.element_id} is not allowed in the sandbox: {exc.detail}",
                   f"{site.element_id} 的{site.what_zh}不能在沙箱中编译：{exc.detail}", site.element_id)
        return
    missing = unknown(used, site.known)
    if missing:
        listed = ", ".join(missing)
        yield make(doc.file, "unknown-variable", _first_use(site, missing[0]),
                   f"the {site.what} of {site.element_id} reads {listed}, which no earlier form, service task, "
                   "script, data object or declared process variable provides (declare it in the process "
                   "property 'variables' if a worker sets it)",
                   f"{site.element_id} 的{site.what_zh}读取了 {listed}，但没有任何前序表单、服务任务、脚本、数据对象或"
                   "已声明的流程变量提供它（若由服务任务处理程序设置，请在流程属性 variables 中声明）", site.element_id)


def _first_use(site: Site, name: str) -> int:
    try:
        tree = ast.parse(site.text, mode=site.mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return site.element.sourceline or 1
    lines = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == name]
    return _line(site.element, min(lines) if lines else None)


def _sites(doc: Document, names: Availability) -> Iterator[Site]:
    for flow in doc.flows.values():
        condition = flow.condition
        if condition is not None and flow.source is not None and (condition.text or "").strip():
            yield Site("condition", "条件", condition.text or "", "eval", condition, flow.id, names.after(flow.source))
    for node in doc.all_nodes():
        before, after = names.before(node), names.after(node)
        element = node.element
        if node.kind == "scriptTask":
            script = element.find(bpmn("script"))
            yield Site("script", "脚本", (script.text or "") if script is not None else "", "exec",
                       script if script is not None else element, node.id, before)
        extensions = element.find(bpmn("extensionElements"))
        if extensions is not None:
            for tag, what, what_zh, known in (("preScript", "preScript", "前置脚本", before),
                                              ("postScript", "postScript", "后置脚本", after)):
                found = extensions.find(f"{{{SPIFF_NS}}}{tag}")
                if found is not None:
                    yield Site(what, what_zh, found.text or "", "exec", found, node.id, known)
            for param in extensions.iter(f"{{{SPIFF_NS}}}parameter"):
                if param.get("value") is not None:
                    yield Site(f"parameter {param.get('id')}", f"参数 {param.get('id')}", param.get("value", ""),
                               "eval", param, node.id, before)
        inner = before | names.produced.get(node, set())  # loop items are set while the activity runs
        loops = [*element.findall(bpmn("multiInstanceLoopCharacteristics")),
                 *element.findall(bpmn("standardLoopCharacteristics"))]
        for loop in loops:
            for tag, what, what_zh in (("loopCardinality", "loop cardinality", "循环次数"),
                                       ("completionCondition", "completion condition", "完成条件"),
                                       ("loopCondition", "loop condition", "循环条件")):
                found = loop.find(bpmn(tag))
                if found is not None:
                    yield Site(what, what_zh, found.text or "", "eval", found, node.id, inner)
        for definition in node.definitions():
            found = definition.find(bpmn("condition"))
            if found is not None:
                yield Site("condition", "条件", found.text or "", "eval", found, node.id, before)
            payload = definition.find(f"{{{SPIFF_NS}}}messagePayload")
            if payload is not None:
                yield Site("message payload", "消息内容", payload.text or "", "eval", payload, node.id, before)


def timer_calendar(node: Node) -> str | None:
    """The timer's calendar as written (its own property, else the nearest subprocess's or process's)."""
    own = node.properties.get("calendar")
    if own is not None and own.value.strip():
        return own.value.strip()
    return inherited_property(node.element, "calendar")


def _timer(doc: Document, node: Node, definition: etree._Element, names: Availability) -> Iterator[Finding]:
    calendar = timer_calendar(node) or NATURAL
    if calendar not in CALENDARS:
        calendar = NATURAL  # property-invalid reports the bad value
    for kind in TIMER_KINDS:
        found = definition.find(bpmn(kind))
        if found is None:
            continue
        text = (found.text or "").strip()
        if not text:
            yield _iso(doc, node, found, f"the {kind} of timer {node.id} is empty", f"定时器 {node.id} 的 {kind} 为空")
        elif is_literal(text) or _LOOKS_ISO.match(text):
            yield from _literal(doc, node, found, kind, text, calendar)
        else:
            site = Site(f"{kind} expression", f"{kind} 表达式", found.text or "", "eval", found, node.id,
                        names.before(node))
            findings = list(_check_site(doc, site))
            yield from findings
            value = _constant(text)
            if not findings and value is not None:
                yield from _literal(doc, node, found, kind, value, calendar)


def _constant(text: str) -> str | None:
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # hostile text: refused elsewhere
        return None
    return tree.value if isinstance(tree, ast.Constant) and isinstance(tree.value, str) else None


def _literal(doc: Document, node: Node, found: etree._Element, kind: str, text: str,
             calendar: str) -> Iterator[Finding]:
    try:
        if not is_literal(text):
            raise TimerTextError(f"{text!r} is not an ISO 8601 {_KIND_EN[kind]}")
        if kind == "timeDate":
            parse_datetime(text)
        elif kind == "timeDuration":
            check_duration(text, calendar)
        else:
            check_cycle(text, calendar)
    except TimerTextError as exc:
        example = "" if "e.g." in str(exc) else f". Write e.g. {_EXAMPLE[kind]}"
        yield _iso(doc, node, found, f"{kind} of timer {node.id} ({calendar} calendar): {exc}{example}",
                   f"定时器 {node.id} 的 {kind}（{calendar} 日历）无法解析：{exc}。示例：{_EXAMPLE[kind]}")


_KIND_EN = {"timeDuration": "duration", "timeDate": "date-time", "timeCycle": "repeating interval"}
_EXAMPLE = {"timeDuration": "P5D", "timeDate": "2026-05-01T09:00:00+08:00", "timeCycle": "R3/P1D"}


def _iso(doc: Document, node: Node, found: etree._Element, en: str, zh: str) -> Finding:
    return make(doc.file, "iso-invalid", found.sourceline or node.line, en, zh, node.id)
