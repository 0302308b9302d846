"""parallel-join-deadlock: a parallel join whose inputs come from different outcomes of one choice.

A choice is an exclusive, inclusive or event-based gateway (one outgoing branch per outcome) or an activity with
boundary events (normal completion, each interrupting boundary event; non-interrupting ones may or may not fire).
For every choice C that dominates two inputs of a parallel join J (every path from the scope's start to them
passes C), lint asks which of C's outcomes reach each input without passing C or J again. If some outcome feeds
one input but not the other, J waits forever: a review's done path and its timeout path into one join, or two
branches of an exclusive gateway re-joined by a parallel gateway. Back-flows (return to the applicant) do not
make inputs look exclusive, because the first pass reaches the inputs without passing the deciding gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import ACTIVITIES, Document, Flow, Node, Scope
from engine.bpmn.lint.reach import reachable

_SPLITS = frozenset({"exclusiveGateway", "inclusiveGateway", "eventBasedGateway"})
NORMAL = "normal"


@dataclass(frozen=True)
class Choice:
    node: Node
    branches: dict[str, list[Flow]]  # outcome label -> the flows that outcome starts
    activations: list[frozenset[str]]  # the minimal sets of outcomes that can happen together


def check(doc: Document) -> Iterator[Finding]:
    for scope in doc.scopes:
        joins = [n for n in scope.nodes if n.kind == "parallelGateway" and len(n.incoming) >= 2]
        if not joins:
            continue
        choices = [c for c in (_choice(n) for n in scope.nodes) if c is not None]
        for join in joins:
            for choice in choices:
                finding = _conflict(doc, scope, join, choice)
                if finding is not None:
                    yield finding
                    break


def _choice(node: Node) -> Choice | None:
    if node.kind in _SPLITS and len(node.outgoing) >= 2:
        branches = {f.id: [f] for f in node.outgoing}
        return Choice(node, branches, [frozenset({label}) for label in branches])
    if node.kind in ACTIVITIES and node.boundaries:
        branches = {NORMAL: list(node.outgoing), **{b.id: list(b.outgoing) for b in node.boundaries}}
        mains = [NORMAL, *(b.id for b in node.boundaries if b.cancels)]
        optional = [b.id for b in node.boundaries if not b.cancels]
        activations = [frozenset({m}) for m in mains] + [frozenset({m, o}) for m in mains for o in optional]
        return Choice(node, branches, activations)
    return None


def _conflict(doc: Document, scope: Scope, join: Node, choice: Choice) -> Finding | None:
    entries = [n for n in scope.nodes if n.kind == "startEvent" or n.is_event_subprocess]
    free = reachable(entries, doc.successors, blocked=lambda n: n is choice.node)
    dominated = [f for f in join.incoming if f.source is not None and f.source not in free]
    if len(dominated) < 2:
        return None
    feeds: dict[str, set[Flow]] = {}
    for label, flows in choice.branches.items():
        starts = [f.target for f in flows if f.target is not None and f.target is not join]
        seen = reachable(starts, doc.successors, blocked=lambda n: n is choice.node or n is join)
        fed = {f for f in flows if f.target is join}
        fed.update(g for n in seen for g in n.outgoing if g.target is join)
        feeds[label] = fed
    outcomes = {f: {label for label, fed in feeds.items() if f in fed} for f in dominated}
    for activation in choice.activations:
        arriving = [f for f in dominated if outcomes[f] & activation]
        missing = [f for f in dominated if outcomes[f] and not outcomes[f] & activation]
        if arriving and missing:
            return _finding(doc, join, choice, activation, arriving[0], missing[0])
    return None


def _finding(doc: Document, join: Node, choice: Choice, activation: frozenset[str], arriving: Flow,
             missing: Flow) -> Finding:
    node = choice.node
    en_parts, zh_parts = [], []
    for label in sorted(activation, key=lambda x: (x != NORMAL, x)):
        if label == NORMAL:
            en_parts.append(f"{node.id} completes normally")
            zh_parts.append(f"{node.id} 正常完成")
        elif node.kind in ACTIVITIES:
            en_parts.append(f"boundary event {label} fires")
            zh_parts.append(f"边界事件 {label} 触发")
        else:
            en_parts.append(f"{node.id} takes flow {label}")
            zh_parts.append(f"{node.id} 走顺序流 {label}")
    return make(
        doc.file, "parallel-join-deadlock", join.line,
        f"parallel join {join.label} waits for {arriving.id} and {missing.id}, but they come from different "
        f"outcomes of {node.label}: when {' and '.join(en_parts)}, {missing.id} never arrives and the instance "
        f"deadlocks. Merge the paths with an exclusive gateway first, or wrap {node.id} in an embedded subprocess "
        "with one outgoing flow",
        f"并行汇合网关 {join.label} 等待 {arriving.id} 和 {missing.id}，但它们来自 {node.label} 的不同结果："
        f"当 {'且'.join(zh_parts)} 时，{missing.id} 永远不会到达，流程实例将死锁。请先用排他网关合并这些路径，"
        f"或把 {node.id} 包在只有一条流出顺序流的内嵌子流程中",
        join.id)
