"""Timers: a calendar must be chosen (else natural days, with a warning); no timer start events in event
subprocesses (SpiffWorkflow 3.2 ignores isInterrupting there and a pending one blocks completion)."""

from __future__ import annotations

from collections.abc import Iterator

from engine.bpmn.lint.expressions import timer_calendar
from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import Document


def check(doc: Document) -> Iterator[Finding]:
    for node in doc.all_nodes():
        if not node.has_definition("timerEventDefinition"):
            continue
        if node.kind == "startEvent" and node.scope.is_event_subprocess:
            owner = node.scope.owner
            assert owner is not None
            yield make(doc.file, "timer-in-event-subprocess", node.line,
                       f"timer start event {node.id} of event subprocess {owner.id}: SpiffWorkflow 3.2 ignores "
                       "isInterrupting there and a pending timer blocks completion. Model a cap as a "
                       "non-interrupting boundary timer on an embedded subprocess",
                       f"事件子流程 {owner.id} 的定时开始事件 {node.id}：SpiffWorkflow 3.2 在此忽略 isInterrupting，"
                       "未触发的定时器还会阻止流程结束。请把时限上限建模为内嵌子流程上的非中断型边界定时器", node.id)
        if timer_calendar(node) is None:
            yield make(doc.file, "timer-no-calendar", node.line,
                       f"timer {node.id} has no calendar, so it counts natural days: set the property calendar "
                       "(workday or natural) on the timer or on the process",
                       f"定时器 {node.id} 未指定日历，将按自然日计算：请在定时器或流程上设置属性 calendar（workday 或 natural）",
                       node.id)
