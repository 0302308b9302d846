"""The critical path of a deployed process (DESIGN.md §6): the longest path from a start to the end of a target
element on the normal path, each user task weighted by its committed limit in working days.

"Normal path": forward sequence flows only — a flow that closes a cycle (a 退回 back-flow) is dropped — and no
boundary-event paths (deemed approval, escalation, caps); subprocesses are entered at their start events and left
from their end events. Tasks that pause the clock (`pauses_clock`) and tasks without `limit_committed_wd` weigh 0;
so do the 1-WD formal-document duty and the 容缺 supervision, which carry no committed limit. Of two alternatives
(the 告知承诺 decision beside the regular permit review) the longer counts, which is the regular one.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bpmn.lint.model import CONTAINERS, Document, Node, build
from engine.bpmn.xml import parse_xml


@dataclass(frozen=True)
class CriticalPath:
    days: int
    steps: tuple[tuple[str, int], ...]  # the weighted elements on the path, in order: (id, committed limit)


def weight(node: Node) -> int:
    if node.kind != "userTask" or "pauses_clock" in node.properties:
        return 0
    prop = node.properties.get("limit_committed_wd")
    try:
        return int(prop.value) if prop is not None else 0
    except ValueError:
        return 0


class _Graph:
    """Flow nodes flattened across subprocesses: a subprocess is an entry vertex and an exit vertex."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.edges: dict[str, list[str]] = {}
        for node in doc.all_nodes():
            if node.kind == "boundaryEvent":
                continue
            if node.kind in CONTAINERS and node.inner is not None:
                entry = self.entry(node)
                self.edges.setdefault(entry, []).extend(n.id for n in node.inner.starts())
                for end in (n for n in node.inner.nodes if n.kind == "endEvent"):
                    self.edges.setdefault(end.id, []).append(self.exit(node))
            for flow in node.outgoing:
                if flow.target is not None:
                    self.edges.setdefault(self.exit(node), []).append(self.entry(flow.target))

    @staticmethod
    def entry(node: Node) -> str:
        return f"{node.id}:in" if node.kind in CONTAINERS else node.id

    @staticmethod
    def exit(node: Node) -> str:
        return f"{node.id}:out" if node.kind in CONTAINERS else node.id

    def weight(self, vertex: str) -> int:
        node = self.doc.nodes.get(vertex)
        return weight(node) if node is not None else 0

    def forward(self, start: str) -> dict[str, list[str]]:
        """The edges reachable from `start` minus those closing a cycle (iterative DFS: back edges dropped)."""
        kept: dict[str, list[str]] = {}
        state: dict[str, int] = {start: 1}  # 1 on the stack, 2 done
        stack = [(start, iter(self.edges.get(start, [])))]
        while stack:
            vertex, successors = stack[-1]
            for nxt in successors:
                if state.get(nxt) == 1:
                    continue  # a back-flow
                kept.setdefault(vertex, []).append(nxt)
                if nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(self.edges.get(nxt, []))))
                    break
            else:
                state[vertex] = 2
                stack.pop()
        return kept


def critical_path(bpmn_xml: bytes, *, to: str, start: str | None = None, file: str = "<bpmn>") -> CriticalPath:
    """The longest path to the end of element `to` from `start` (a start event, or a subprocess id meaning its
    own start), default the executable process's start event."""
    doc = build(parse_xml(bpmn_xml, file=file), file)
    graph = _Graph(doc)
    if start is None:
        starts = [n for n in doc.processes[0].starts()]
        if len(starts) != 1:
            raise ValueError("name the start: the process has no single start event")
        origin = starts[0].id
    else:
        node = doc.nodes.get(start)
        if node is None:
            raise ValueError(f"no element {start}")
        origin = graph.entry(node)
    target_node = doc.nodes.get(to)
    if target_node is None:
        raise ValueError(f"no element {to}")
    target = graph.exit(target_node)
    edges = graph.forward(origin)
    order = _topological(origin, edges)
    if target not in order:
        raise ValueError(f"{to} cannot be reached from {start or origin} on the normal path")
    best: dict[str, tuple[int, str | None]] = {origin: (graph.weight(origin), None)}
    for vertex in order:
        days, _ = best[vertex]
        for nxt in edges.get(vertex, []):
            candidate = days + graph.weight(nxt)
            if nxt not in best or candidate > best[nxt][0]:
                best[nxt] = (candidate, vertex)
    steps = []
    vertex: str | None = target
    while vertex is not None:
        if graph.weight(vertex):
            steps.append((vertex, graph.weight(vertex)))
        vertex = best[vertex][1]
    return CriticalPath(best[target][0], tuple(reversed(steps)))


def _topological(origin: str, edges: dict[str, list[str]]) -> list[str]:
    indegree: dict[str, int] = {origin: 0}
    for successors in edges.values():
        for nxt in successors:
            indegree[nxt] = indegree.get(nxt, 0) + 1
    ready, order = [origin], []
    while ready:
        vertex = ready.pop()
        order.append(vertex)
        for nxt in edges.get(vertex, []):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return order
