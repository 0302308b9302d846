"""A small in-memory BPMN model for generating the shipped processes: containers, nodes, flows.

Only what the two approval processes need: events, user/service/script tasks, exclusive and parallel gateways,
embedded subprocesses, boundary timers. Ids are readable and must be unique in the whole file; `Container.add`
refuses duplicates so a typo in a generator fails loudly instead of producing a broken diagram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal

NodeKind = Literal["start", "end", "user", "service", "script", "xor", "par", "sub", "boundary", "catch_timer"]


@dataclass
class Timer:
    """A timer definition: `text` is a bare ISO 8601 literal (`P5D`) or a sandboxed expression."""

    kind: Literal["duration", "date"]
    text: str
    calendar: Literal["workday", "natural"] = "workday"
    pausable: bool = True


@dataclass
class Node:
    id: str
    kind: NodeKind
    name: str | None = None
    props: dict[str, str] = field(default_factory=dict)
    # service tasks
    topic: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    result: str | None = None
    # script tasks
    script: str | None = None
    # end events
    terminate: bool = False
    # boundary and catch events
    timer: Timer | None = None
    host: str | None = None
    interrupting: bool = True
    # subprocesses
    body: Container | None = None
    documentation: str | None = None


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    back: bool = False  # a modelled back-flow (退回): drawn above the row, ignored by the critical path
    side: bool = False  # an exceptional branch (refusal, skip): the layout keeps it off the main line


class DuplicateId(ValueError):
    pass


class Container:
    """A process or an embedded subprocess body: its own nodes and flows."""

    def __init__(self, registry: set[str]) -> None:
        self._ids = registry
        self.nodes: dict[str, Node] = {}
        self.flows: list[Flow] = []
        self.defaults: dict[str, str] = {}  # gateway id -> default flow id

    # --- nodes ---------------------------------------------------------------------------------------------------

    def add(self, node: Node) -> Node:
        if node.id in self._ids:
            raise DuplicateId(node.id)
        self._ids.add(node.id)
        self.nodes[node.id] = node
        return node

    def start(self, id: str, name: str | None = None) -> Node:
        return self.add(Node(id, "start", name))

    def end(self, id: str, name: str | None = None, *, terminate: bool = False) -> Node:
        return self.add(Node(id, "end", name, terminate=terminate))

    def user(self, id: str, name: str, **props: str | int | bool) -> Node:
        return self.add(Node(id, "user", name, props=_props(props)))

    def service(self, id: str, name: str, topic: str, *, params: dict[str, str] | None = None,
                result: str | None = None, **props: str | int | bool) -> Node:
        return self.add(Node(id, "service", name, props=_props(props), topic=topic, params=dict(params or {}),
                             result=result))

    def script(self, id: str, name: str, script: str) -> Node:
        return self.add(Node(id, "script", name, script=script))

    def xor(self, id: str, name: str | None = None) -> Node:
        return self.add(Node(id, "xor", name))

    def par(self, id: str, name: str | None = None) -> Node:
        return self.add(Node(id, "par", name))

    def sub(self, id: str, name: str, **props: str | int | bool) -> Node:
        node = Node(id, "sub", name, props=_props(props), body=Container(self._ids))
        return self.add(node)

    def boundary(self, id: str, name: str, host: Node, timer: Timer, *, interrupting: bool,
                 **props: str | int | bool) -> Node:
        return self.add(Node(id, "boundary", name, props=_props(props), timer=timer, host=host.id,
                             interrupting=interrupting))

    def wait(self, id: str, name: str, timer: Timer) -> Node:
        return self.add(Node(id, "catch_timer", name, timer=timer))

    # --- flows ---------------------------------------------------------------------------------------------------

    def flow(self, source: Node, target: Node, name: str | None = None, *, condition: str | None = None,
             default: bool = False, back: bool = False, side: bool = False) -> Flow:
        for node in (source, target):
            if node.id not in self.nodes:
                raise ValueError(f"{node.id} is not in this container")
        flow_id = f"flow_{source.id}__{target.id}"
        if flow_id in self._ids:
            raise DuplicateId(flow_id)
        self._ids.add(flow_id)
        flow = Flow(flow_id, source.id, target.id, name, condition, back, side)
        self.flows.append(flow)
        if default:
            self.defaults[source.id] = flow_id
        return flow

    def chain(self, *nodes: Node) -> None:
        for source, target in pairwise(nodes):
            self.flow(source, target)

    def incoming(self, node_id: str) -> list[Flow]:
        return [f for f in self.flows if f.target == node_id]

    def outgoing(self, node_id: str) -> list[Flow]:
        return [f for f in self.flows if f.source == node_id]

    def boundaries_of(self, node_id: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "boundary" and n.host == node_id]


def check(container: Container) -> None:
    """Refuse shapes SpiffWorkflow reads differently from what the diagram says: an activity or event with two
    incoming flows (put an exclusive merge first), a parallel gateway that both joins and splits."""
    for node in container.nodes.values():
        incoming, outgoing = container.incoming(node.id), container.outgoing(node.id)
        if node.kind not in ("xor", "par") and len(incoming) > 1:
            raise ValueError(f"{node.id} has {len(incoming)} incoming flows: merge them with an exclusive gateway")
        if node.kind == "par" and len(incoming) > 1 and len(outgoing) > 1:
            raise ValueError(f"parallel gateway {node.id} both joins and splits")
        if node.body is not None:
            check(node.body)


class Process(Container):
    def __init__(self, id: str, name: str, **props: str | int | bool) -> None:
        super().__init__(set())
        self.id = id
        self.name = name
        self.props = _props(props)
        self.documentation: str | None = None


def _props(values: dict[str, str | int | bool]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out
