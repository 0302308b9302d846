"""Review tasks (user tasks with `limit_committed_wd`): both limits, and the deemed-approval timer.

DESIGN.md §4/§6: a review has a committed and a statutory limit in working days (committed <= statutory). A
silent department is deemed to approve (`silent_default`, default true) through an interrupting boundary timer
on the review leading to the deemed-approval path; reviews with `silent_default=false` (fire, civil air defence)
escalate instead and must not be deemed approved by a timer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.bpmn.lint.expressions import timer_calendar
from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import Document, Node, bpmn
from engine.bpmn.timer_values import WORKDAY

_DAYS = re.compile(r"^P(\d+)D$")


def _int(node: Node, name: str) -> int | None:
    prop = node.properties.get(name)
    try:
        return int(prop.value.strip()) if prop is not None else None
    except ValueError:
        return None  # property-invalid


def check(doc: Document) -> Iterator[Finding]:
    for node in doc.all_nodes():
        if node.kind != "userTask":
            continue
        has_committed = "limit_committed_wd" in node.properties
        has_statutory = "limit_statutory_wd" in node.properties
        if has_committed != has_statutory:
            present, absent = (("limit_committed_wd", "limit_statutory_wd") if has_committed
                               else ("limit_statutory_wd", "limit_committed_wd"))
            yield make(doc.file, "review-task-limits", node.properties[present].line,
                       f"review task {node.label} sets {present} but not {absent}: a review needs both its committed "
                       "and its statutory limit (working days)",
                       f"审查任务 {node.label} 设置了 {present} 但没有 {absent}：审查任务必须同时设置承诺时限和法定时限（工作日）",
                       node.id)
        committed, statutory = _int(node, "limit_committed_wd"), _int(node, "limit_statutory_wd")
        if committed is not None and statutory is not None and committed > statutory:
            yield make(doc.file, "review-task-limits", node.properties["limit_committed_wd"].line,
                       f"review task {node.label}: the committed limit ({committed} WD) exceeds the statutory limit "
                       f"({statutory} WD)",
                       f"审查任务 {node.label}：承诺时限（{committed} 个工作日）超过了法定时限（{statutory} 个工作日）", node.id)
        if has_committed:
            yield from _deemed(doc, node, committed)


def _deemed(doc: Document, node: Node, committed: int | None) -> Iterator[Finding]:
    silent_prop = node.properties.get("silent_default")
    silent_text = silent_prop.value.strip() if silent_prop is not None else "true"
    if silent_text not in ("true", "false"):
        return  # property-invalid
    timers = [b for b in node.boundaries if b.cancels and b.has_definition("timerEventDefinition")]
    if silent_text == "true" and not timers:
        yield make(doc.file, "review-deemed-approval", node.line,
                   f"review task {node.label} is deemed approved when its committed limit passes (silent_default is "
                   "true) but has no interrupting boundary timer leading to a deemed-approval path: attach one "
                   f"(calendar workday, P{committed or 'n'}D), or set silent_default=false if it must escalate instead",
                   f"审查任务 {node.label} 在承诺时限届满时视为同意（silent_default 为 true），但没有通往“视为同意”路径的"
                   f"中断型边界定时器：请添加一个（calendar=workday，P{committed or 'n'}D），或在需要升级处理时设置 "
                   "silent_default=false", node.id)
    if silent_text == "false":
        for timer in timers:
            yield make(doc.file, "review-deemed-approval", timer.line,
                       f"review task {node.id} has silent_default=false (it escalates instead of being deemed "
                       f"approved), but interrupting timer {timer.id} ends the review: make the timer "
                       "non-interrupting (cancelActivity=\"false\") and escalate",
                       f"审查任务 {node.id} 设置了 silent_default=false（超时升级处理而非视为同意），但中断型定时器 "
                       f"{timer.id} 会结束审查：请将定时器改为非中断型（cancelActivity=\"false\"）并升级处理", timer.id)
        return
    for timer in timers:
        yield from _timer_limit(doc, node, timer, committed)


def _timer_limit(doc: Document, review: Node, timer: Node, committed: int | None) -> Iterator[Finding]:
    calendar = timer_calendar(timer)
    if calendar is not None and calendar != WORKDAY:
        yield make(doc.file, "review-timer-limit", timer.line,
                   f"deemed-approval timer {timer.id} of {review.id} counts {calendar} days: limits are working days "
                   "(set calendar=workday)",
                   f"{review.id} 的超时默认定时器 {timer.id} 按 {calendar} 日历计算：时限以工作日计（请设置 calendar=workday）",
                   timer.id)
    duration = timer.element.find(f"{bpmn('timerEventDefinition')}/{bpmn('timeDuration')}")
    match = _DAYS.match((duration.text or "").strip()) if duration is not None else None
    if match and committed is not None and int(match.group(1)) != committed:
        yield make(doc.file, "review-timer-limit", duration.sourceline if duration is not None else timer.line,
                   f"deemed-approval timer {timer.id} fires after {match.group(1)} working days but {review.id}'s "
                   f"committed limit is {committed}",
                   f"{review.id} 的超时默认定时器 {timer.id} 在 {match.group(1)} 个工作日后触发，但承诺时限为 {committed} 个工作日",
                   timer.id)
