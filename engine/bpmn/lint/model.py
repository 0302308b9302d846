"""The BPMN document as lint sees it: scopes (process, subprocesses), flow nodes, sequence flows, boundary
attachments, lanes and engine properties, each with its element and source line. Built once from lxml."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"

CONTAINERS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
ACTIVITIES = frozenset({"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
                        "businessRuleTask", "callActivity"}) | CONTAINERS
GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway",
                      "complexGateway"})
EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
HUMAN_TASKS = frozenset({"userTask", "manualTask"})


def bpmn(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


@dataclass(frozen=True)
class Prop:
    """One designer property (`spiffworkflow:property` or `camunda:property`) with the line it is written on."""

    value: str
    line: int


def read_properties(element: etree._Element) -> dict[str, Prop]:
    """The element's own properties; Camunda's first, then spiffworkflow's, which win (as engine/bpmn/properties)."""
    result: dict[str, Prop] = {}
    extensions = element.find(bpmn("extensionElements"))
    if extensions is None:
        return result
    for ns in (CAMUNDA_NS, SPIFF_NS):
        for props in extensions.findall(f"{{{ns}}}properties"):
            for prop in props.findall(f"{{{ns}}}property"):
                name = prop.get("name")
                if name:
                    result[name] = Prop(prop.get("value", ""), prop.sourceline or element.sourceline or 1)
    return result


@dataclass(eq=False)
class Flow:
    element: etree._Element
    id: str
    scope: Scope
    source: Node | None = None
    target: Node | None = None

    @property
    def line(self) -> int:
        return self.element.sourceline or 1

    @property
    def condition(self) -> etree._Element | None:
        return self.element.find(bpmn("conditionExpression"))


@dataclass(eq=False)
class Node:
    element: etree._Element
    id: str
    kind: str
    scope: Scope
    properties: dict[str, Prop]
    order: int  # position in the document, for "the first of these" in messages
    incoming: list[Flow] = field(default_factory=list)
    outgoing: list[Flow] = field(default_factory=list)
    boundaries: list[Node] = field(default_factory=list)
    attached_to: Node | None = None
    inner: Scope | None = None

    @property
    def line(self) -> int:
        return self.element.sourceline or 1

    @property
    def label(self) -> str:
        name = self.element.get("name")
        return f"{self.id} ({name})" if name else self.id

    def definitions(self) -> list[etree._Element]:
        return [child for child in self.element if local_name(child).endswith("EventDefinition")]

    def has_definition(self, kind: str) -> bool:
        return any(local_name(d) == kind for d in self.definitions())

    @property
    def is_event_subprocess(self) -> bool:
        return self.kind in CONTAINERS and self.element.get("triggeredByEvent", "false").strip() == "true"

    @property
    def cancels(self) -> bool:
        """Interrupting: a boundary event's cancelActivity (default true) or a start event's isInterrupting."""
        attr = "cancelActivity" if self.kind == "boundaryEvent" else "isInterrupting"
        return self.element.get(attr, "true").strip() != "false"

    @property
    def is_compensation(self) -> bool:
        return self.element.get("isForCompensation", "false").strip() == "true"


@dataclass(eq=False)
class Scope:
    """A process or a subprocess body: the nodes and flows directly inside it."""

    element: etree._Element
    id: str
    parent: Scope | None
    owner: Node | None
    nodes: list[Node] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)

    @property
    def is_event_subprocess(self) -> bool:
        return self.owner is not None and self.owner.is_event_subprocess

    @property
    def process(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def starts(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "startEvent"]


@dataclass(eq=False)
class Document:
    file: str
    tree: etree._ElementTree
    processes: list[Scope] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    lanes: dict[str, etree._Element] = field(default_factory=dict)
    process_properties: dict[str, dict[str, Prop]] = field(default_factory=dict)

    @property
    def root(self) -> etree._Element:
        return self.tree.getroot()

    def all_nodes(self) -> Iterator[Node]:
        for scope in self.scopes:
            yield from scope.nodes

    def successors(self, node: Node) -> list[Node]:
        """Where a token can go next: sequence flows, the activity's boundary events, a link throw's catch."""
        result = [f.target for f in node.outgoing if f.target is not None]
        result.extend(node.boundaries)
        if node.kind == "intermediateThrowEvent":
            result.extend(_link_catches(node))
        return result

    def find(self, tag: str) -> list[etree._Element]:
        return list(self.root.iter(bpmn(tag)))


def _link_name(node: Node) -> str | None:
    for definition in node.definitions():
        if local_name(definition) == "linkEventDefinition":
            return definition.get("name") or definition.get("id")
    return None


def _link_catches(node: Node) -> list[Node]:
    name = _link_name(node)
    if name is None:
        return []
    return [n for n in node.scope.nodes if n.kind == "intermediateCatchEvent" and _link_name(n) == name]


def build(tree: etree._ElementTree, file: str) -> Document:
    """The document's scopes, nodes and flows. Ids are assumed unique (duplicate-id runs first and stops lint)."""
    doc = Document(file=file, tree=tree)
    for process in doc.root.findall(bpmn("process")):
        doc.process_properties[process.get("id", "")] = read_properties(process)
        doc.processes.append(_scope(doc, process, None, None))
        for lane in process.iter(bpmn("lane")):  # nested lanes come later in document order: the innermost wins
            for ref in lane.findall(bpmn("flowNodeRef")):
                if ref.text and ref.text.strip():
                    doc.lanes[ref.text.strip()] = lane
    for flow in doc.flows.values():
        flow.source = doc.nodes.get(flow.element.get("sourceRef", ""))
        flow.target = doc.nodes.get(flow.element.get("targetRef", ""))
        if flow.source is not None:
            flow.source.outgoing.append(flow)
        if flow.target is not None:
            flow.target.incoming.append(flow)
    for node in doc.all_nodes():
        if node.kind == "boundaryEvent":
            host = doc.nodes.get(node.element.get("attachedToRef", ""))
            if host is not None:
                node.attached_to = host
                host.boundaries.append(node)
    return doc


def _scope(doc: Document, element: etree._Element, parent: Scope | None, owner: Node | None) -> Scope:
    scope = Scope(element=element, id=element.get("id", ""), parent=parent, owner=owner)
    doc.scopes.append(scope)
    for child in element:
        kind = local_name(child)
        if kind == "sequenceFlow":
            flow = Flow(element=child, id=child.get("id", ""), scope=scope)
            scope.flows.append(flow)
            doc.flows[flow.id] = flow
        elif kind in ACTIVITIES or kind in GATEWAYS or kind in EVENTS:
            node = Node(element=child, id=child.get("id", ""), kind=kind, scope=scope,
                        properties=read_properties(child), order=len(doc.nodes))
            scope.nodes.append(node)
            doc.nodes[node.id] = node
            if kind in CONTAINERS:
                node.inner = _scope(doc, child, scope, node)
    return scope
