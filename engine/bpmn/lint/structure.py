"""Flow structure: unreachable elements, dead ends, gateways that neither split nor join, exclusive/inclusive
gateways whose conditions may all be false, and conditions SpiffWorkflow never evaluates."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from engine.bpmn import juel
from engine.bpmn.lint.findings import Finding, make
from engine.bpmn.lint.model import GATEWAYS, Document, Flow, Node, Scope
from engine.bpmn.lint.reach import reachable, sources_and_sinks

CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})


def check(doc: Document) -> Iterator[Finding]:
    reached_scopes = [scope for scope in doc.processes]
    index = 0
    while index < len(reached_scopes):
        scope = reached_scopes[index]
        index += 1
        if not scope.starts():
            continue  # SpiffWorkflow reports the missing start event (bpmn-parse)
        reached = reachable(_entries(scope), doc.successors)
        yield from _unreachable(doc, scope, reached)
        yield from _dead_ends(doc, scope, reached)
        reached_scopes.extend(n.inner for n in scope.nodes if n.inner is not None and n in reached)
    for node in doc.all_nodes():
        if node.kind in GATEWAYS:
            yield from _gateway(doc, node)
    for flow in doc.flows.values():
        yield from _ignored_condition(doc, flow)


def _entries(scope: Scope) -> list[Node]:
    """Where tokens appear without a sequence flow: start events, event subprocesses, compensation handlers."""
    return [n for n in scope.nodes if n.kind == "startEvent" or n.is_event_subprocess or n.is_compensation]


def _in_order(nodes: list[Node]) -> list[Node]:
    return sorted(nodes, key=lambda n: n.order)


def _unreachable(doc: Document, scope: Scope, reached: set[Node]) -> Iterator[Finding]:
    lost = [n for n in scope.nodes if n not in reached]
    sources, _ = sources_and_sinks(lost, doc.successors)
    lost_set = set(lost)
    for component in sources:
        first = _in_order(component)[0]
        after = reachable([first], doc.successors, blocked=lambda n: n not in lost_set) - set(component)
        more_en = f" (nor the {len(after)} element(s) only reachable through it)" if after else ""
        more_zh = f"（其后的 {len(after)} 个元素同样无法到达）" if after else ""
        yield make(doc.file, "unreachable", first.line,
                   f"{first.label} is unreachable: no path from a start event leads to it{more_en}",
                   f"{first.label} 无法到达：没有从开始事件出发的路径通向它{more_zh}", first.id)


def _dead_ends(doc: Document, scope: Scope, reached: set[Node]) -> Iterator[Finding]:
    members = [n for n in scope.nodes if n in reached]
    predecessors: dict[Node, list[Node]] = {n: [] for n in members}
    for node in members:
        for succ in doc.successors(node):
            predecessors.setdefault(succ, []).append(node)
    ends = [n for n in members if n.kind == "endEvent"]
    finishing = reachable(ends, lambda n: predecessors.get(n, []))
    exempt = {n for n in members if n.kind == "endEvent" or n.is_event_subprocess or n.is_compensation}
    stuck = [n for n in members if n not in finishing and n not in exempt]
    _, sinks = sources_and_sinks(stuck, doc.successors)
    reported: set[Node] = set()
    for component in sinks:
        first = _in_order(component)[0]
        reported.update(component)
        if len(component) == 1 and not doc.successors(first):
            yield _no_outgoing(doc, first)
        else:
            loop = " → ".join(n.id for n in _in_order(component))
            yield make(doc.file, "dead-end", first.line,
                       f"{first.label} never reaches an end event: the loop {loop} has no way out",
                       f"{first.label} 永远无法到达结束事件：循环 {loop} 没有出口", first.id)
    for node in members:  # a boundary path may finish, but the normal completion still goes nowhere
        if node not in reported and node not in exempt and not node.outgoing and node.kind != "boundaryEvent":
            yield _no_outgoing(doc, node)


def _no_outgoing(doc: Document, node: Node) -> Finding:
    return make(doc.file, "dead-end", node.line,
                f"{node.label} has no outgoing sequence flow: its token stops here without reaching an end event",
                f"{node.label} 没有流出的顺序流：令牌停在这里，无法到达结束事件", node.id)


def _gateway(doc: Document, gateway: Node) -> Iterator[Finding]:
    if len(gateway.outgoing) == 1 and len(gateway.incoming) <= 1:
        yield make(doc.file, "gateway-one-outgoing", gateway.line,
                   f"gateway {gateway.label} has one outgoing flow and does not join either: remove it or add "
                   "the missing branch",
                   f"网关 {gateway.label} 只有一条流出的顺序流，也不汇合多条流入：请删除该网关或补上缺少的分支",
                   gateway.id)
    if gateway.kind not in CONDITIONAL_GATEWAYS or not gateway.outgoing:
        return
    default = gateway.element.get("default")
    if default:
        if default not in {f.id for f in gateway.outgoing}:
            yield make(doc.file, "gateway-no-default", gateway.line,
                       f"gateway {gateway.label} names default flow {default!r}, which is not one of its outgoing "
                       "flows: when no condition holds the instance stops with an error",
                       f"网关 {gateway.label} 的默认流 {default!r} 不是它流出的顺序流：当所有条件都不成立时流程会出错停止",
                       gateway.id)
        return
    if len(gateway.outgoing) == 1 and gateway.outgoing[0].condition is None:
        return  # SpiffWorkflow takes a single unconditioned flow as the default
    conditions = [_text(f) for f in gateway.outgoing]
    if any(c is None for c in conditions):
        return  # an unconditioned non-default flow: SpiffWorkflow refuses it (bpmn-parse)
    if _exhaustive([c for c in conditions if c is not None]):
        return
    yield make(doc.file, "gateway-no-default", gateway.line,
               f"gateway {gateway.label} has no default flow and lint cannot prove that one of its "
               f"{len(conditions)} conditions always holds: when none does, the instance stops with an error. "
               "Mark one outgoing flow as the default",
               f"网关 {gateway.label} 没有默认流，且无法证明 {len(conditions)} 个条件中总有一个成立：全部不成立时流程会出错停止。"
               "请把一条流出的顺序流设为默认流", gateway.id)


def _text(flow: Flow) -> str | None:
    condition = flow.condition
    text = (condition.text or "").strip() if condition is not None else ""
    return juel.python_or_text(text) or None  # JUEL (${approved} / ${!approved}) is judged as its translation


def _exhaustive(conditions: list[str]) -> bool:
    """True if a condition is the constant True or two conditions are each other's negation (x / not x,
    a == b / a != b, a < b / a >= b, …). Anything subtler needs a default flow."""
    dumps: list[str] = []
    negations: list[str] = []
    for text in conditions:
        try:
            tree = ast.parse(text, mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):  # hostile text: expression-invalid says so
            return True  # expression-invalid reports it; do not pile a second finding on top
        if isinstance(tree, ast.Constant) and tree.value is True:
            return True
        dumps.append(ast.dump(tree))
        negations.append(_negation(tree))
    return any(neg in dumps[:i] + dumps[i + 1:] for i, neg in enumerate(negations))


_OPPOSITE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}


def _negation(tree: ast.expr) -> str:
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.Not):
        return ast.dump(tree.operand)
    if isinstance(tree, ast.Compare) and len(tree.ops) == 1:
        flipped = ast.Compare(left=tree.left, ops=[_OPPOSITE[type(tree.ops[0])]()], comparators=tree.comparators)
        return ast.dump(flipped)
    return ast.dump(ast.UnaryOp(op=ast.Not(), operand=tree))


def _ignored_condition(doc: Document, flow: Flow) -> Iterator[Finding]:
    condition = flow.condition
    if condition is None or not (condition.text or "").strip() or flow.source is None:
        return
    source = flow.source
    if source.kind not in CONDITIONAL_GATEWAYS:
        yield make(doc.file, "condition-ignored", condition.sourceline or flow.line,
                   f"flow {flow.id} leaves {source.label}, a {source.kind}: SpiffWorkflow ignores its condition "
                   "and always takes it. Put the choice on an exclusive or inclusive gateway",
                   f"顺序流 {flow.id} 从 {source.label}（{source.kind}）流出：SpiffWorkflow 忽略其条件并总是执行它。"
                   "请用排他网关或包容网关做选择", flow.id)
    elif source.element.get("default") == flow.id:
        yield make(doc.file, "condition-ignored", condition.sourceline or flow.line,
                   f"flow {flow.id} is the default of {source.label}: its condition is never evaluated",
                   f"顺序流 {flow.id} 是 {source.label} 的默认流：其条件永远不会被计算", flow.id)
