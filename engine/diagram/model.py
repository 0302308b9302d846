"""BPMN DI -> a drawing model: planes of shapes (bounds, element type, markers) and edges (waypoints).

Read the way the modelers write it: Camunda Modeler and bpmn.io put a collapsed subprocess's content on its own
BPMNDiagram/BPMNPlane whose bpmnElement is the subprocess; SpiffArena does the same and often writes empty
`<bpmndi:BPMNLabel />` elements; labels may or may not carry bounds. Nothing here guesses a layout: an element
without DI is simply not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn.xml import parse_xml
from engine.errors import InvalidBpmn

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

EVENT_TYPES = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
TASK_TYPES = {"task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask", "sendTask",
              "receiveTask"}
ACTIVITY_TYPES = TASK_TYPES | {"subProcess", "transaction", "adHocSubProcess", "callActivity"}
SUBPROCESS_TYPES = {"subProcess", "transaction", "adHocSubProcess"}
GATEWAY_TYPES = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
DATA_TYPES = {"dataObjectReference", "dataStoreReference", "dataObject", "dataInput", "dataOutput"}
FLOW_NODE_TYPES = EVENT_TYPES | ACTIVITY_TYPES | GATEWAY_TYPES
# Event definition local names, shortened: timerEventDefinition -> "timer".
EVENT_DEFINITIONS = ("timer", "message", "error", "signal", "escalation", "conditional", "compensate", "terminate",
                     "link", "cancel")


@dataclass(frozen=True)
class Bounds:
    x: float
    y: float
    width: float
    height: float

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + self.height / 2

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Shape:
    """One BPMNShape, with what drawing it needs from its semantic element."""

    di_id: str | None
    element_id: str
    type: str  # local name of the semantic element ("userTask"), or "unknown"
    name: str | None
    bounds: Bounds
    label: Bounds | None = None
    expanded: bool | None = None  # subprocesses and call activities: drawn open or as a box with [+]
    horizontal: bool = True  # pools and lanes
    event_definitions: tuple[str, ...] = ()
    interrupting: bool = True  # boundary events (cancelActivity) and event-subprocess starts (isInterrupting)
    attached_to: str | None = None
    loop: str | None = None  # "standard" | "parallel" | "sequential"
    compensation: bool = False
    marker_visible: bool = True  # exclusive gateways: bpmn.io draws the X only when isMarkerVisible="true"
    triggered_by_event: bool = False
    is_collection: bool = False  # data objects that are collections get three bars


@dataclass(frozen=True)
class Edge:
    di_id: str | None
    element_id: str
    type: str  # sequenceFlow | messageFlow | association | dataInputAssociation | dataOutputAssociation | unknown
    name: str | None
    waypoints: tuple[Point, ...]
    label: Bounds | None = None
    source: str | None = None
    target: str | None = None
    default: bool = False  # the source's default flow: a slash near the source
    conditional: bool = False  # a condition on a flow leaving an activity: a small diamond at the source
    directed: bool = False  # associations with associationDirection="One" or "Both"


@dataclass
class Plane:
    """One BPMNPlane. `element_id` is the process, collaboration or (drill-down) subprocess it shows."""

    plane_id: str | None
    element_id: str | None
    element_type: str | None
    name: str | None
    shapes: list[Shape] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    @property
    def is_drilldown(self) -> bool:
        return self.element_type in SUBPROCESS_TYPES or self.element_type == "callActivity"


@dataclass
class Diagram:
    planes: list[Plane]
    elements: dict[str, str]  # every semantic id -> type (also elements without DI)
    flows: dict[str, tuple[str | None, str | None]]  # sequence flow id -> (source, target)
    names: dict[str, str]
    parents: dict[str, str] = field(default_factory=dict)  # element id -> the subprocess that contains it
    boundary: dict[str, tuple[str, bool]] = field(default_factory=dict)  # boundary id -> (host, interrupting)
    timers: frozenset[str] = frozenset()  # events with a timer definition
    conditional_flows: frozenset[str] = frozenset()  # sequence flows with a conditionExpression

    def shapes(self) -> list[Shape]:
        return [s for p in self.planes for s in p.shapes]

    def edges(self) -> list[Edge]:
        return [e for p in self.planes for e in p.edges]


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _float(node: etree._Element, attr: str) -> float:
    try:
        return float(node.get(attr, "0"))
    except ValueError:
        return 0.0


def _bounds(node: etree._Element | None) -> Bounds | None:
    if node is None:
        return None
    b = node.find(f"{{{DC}}}Bounds")
    if b is None:
        return None
    return Bounds(_float(b, "x"), _float(b, "y"), max(_float(b, "width"), 0.0), max(_float(b, "height"), 0.0))


def _bool(node: etree._Element, attr: str, default: bool) -> bool:
    value = node.get(attr)
    return default if value is None else value.strip().lower() == "true"


def _loop(node: etree._Element) -> str | None:
    if node.find(f"{{{BPMN}}}standardLoopCharacteristics") is not None:
        return "standard"
    multi = node.find(f"{{{BPMN}}}multiInstanceLoopCharacteristics")
    if multi is not None:
        return "sequential" if _bool(multi, "isSequential", False) else "parallel"
    return None


def _event_definitions(node: etree._Element) -> tuple[str, ...]:
    found = []
    for child in node:
        name = _local(child.tag)
        if name.endswith("EventDefinition"):
            found.append(name[: -len("EventDefinition")])
        elif name == "eventDefinitionRef":
            found.append("message")  # a referenced definition; rare, drawn as its most common kind
    return tuple(found)


def _shape(di: etree._Element, nodes: dict[str, etree._Element]) -> Shape | None:
    element_id = di.get("bpmnElement")
    bounds = _bounds(di)
    if not element_id or bounds is None:
        return None
    node = nodes.get(element_id)
    kind = _local(node.tag) if node is not None else "unknown"
    expanded_attr = di.get("isExpanded")
    expanded = None if expanded_attr is None else expanded_attr.strip().lower() == "true"
    label = _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel"))
    if node is None:
        return Shape(di.get("id"), element_id, kind, None, bounds, label)
    interrupting = _bool(node, "cancelActivity", True) if kind == "boundaryEvent" else _bool(
        node, "isInterrupting", True)
    is_collection = _bool(node, "isCollection", False)
    if kind == "dataObjectReference":
        ref = nodes.get(node.get("dataObjectRef", ""))
        is_collection = is_collection or (ref is not None and _bool(ref, "isCollection", False))
    return Shape(
        di_id=di.get("id"),
        element_id=element_id,
        type=kind,
        name=_name(node, nodes),
        bounds=bounds,
        label=label,
        expanded=expanded,
        horizontal=_bool(di, "isHorizontal", True),
        event_definitions=_event_definitions(node),
        interrupting=interrupting,
        attached_to=node.get("attachedToRef"),
        loop=_loop(node),
        compensation=_bool(node, "isForCompensation", False),
        marker_visible=_bool(di, "isMarkerVisible", False) if kind == "exclusiveGateway" else True,
        triggered_by_event=_bool(node, "triggeredByEvent", False),
        is_collection=is_collection,
    )


def _name(node: etree._Element, nodes: dict[str, etree._Element]) -> str | None:
    if _local(node.tag) == "textAnnotation":
        text = node.find(f"{{{BPMN}}}text")
        return text.text if text is not None and text.text else None
    if _local(node.tag) == "group":
        ref = nodes.get(node.get("categoryValueRef", ""))
        return ref.get("value") if ref is not None else None
    name = node.get("name")
    return name if name else None


def _edge(di: etree._Element, nodes: dict[str, etree._Element], defaults: set[str]) -> Edge | None:
    element_id = di.get("bpmnElement")
    if not element_id:
        return None
    node = nodes.get(element_id)
    kind = _local(node.tag) if node is not None else "unknown"
    points = tuple(Point(_float(w, "x"), _float(w, "y")) for w in di.findall(f"{{{DI}}}waypoint"))
    label = _bounds(di.find(f"{{{BPMNDI}}}BPMNLabel"))
    if node is None:
        return Edge(di.get("id"), element_id, kind, None, points, label)
    source, target = node.get("sourceRef"), node.get("targetRef")
    if kind in ("dataInputAssociation", "dataOutputAssociation"):
        # The refs are child elements here, and one end is the activity that holds the association.
        src = node.find(f"{{{BPMN}}}sourceRef")
        tgt = node.find(f"{{{BPMN}}}targetRef")
        source = src.text.strip() if src is not None and src.text else None
        target = tgt.text.strip() if tgt is not None and tgt.text else None
    source_type = _local(nodes[source].tag) if source in nodes else ""
    conditional = (kind == "sequenceFlow" and node.find(f"{{{BPMN}}}conditionExpression") is not None
                   and source_type in ACTIVITY_TYPES)
    return Edge(
        di_id=di.get("id"),
        element_id=element_id,
        type=kind,
        name=node.get("name") or None,
        waypoints=points,
        label=label,
        source=source,
        target=target,
        default=element_id in defaults,
        conditional=conditional,
        directed=node.get("associationDirection", "None") in ("One", "Both"),
    )


def parse_diagram(source: bytes | etree._ElementTree, *, file: str = "<bpmn>") -> Diagram:
    """Every BPMNPlane of a BPMN document, in document order. Raises `InvalidBpmn` if there is no DI at all."""
    tree = parse_xml(source, file=file) if isinstance(source, bytes) else source
    root = tree.getroot()
    nodes = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")
             and etree.QName(n).namespace == BPMN}
    defaults = {n.get("default") for n in nodes.values() if n.get("default")}
    planes = []
    for plane_node in root.iter(f"{{{BPMNDI}}}BPMNPlane"):
        element_id = plane_node.get("bpmnElement")
        element = nodes.get(element_id or "")
        plane = Plane(plane_node.get("id"), element_id, _local(element.tag) if element is not None else None,
                      _name(element, nodes) if element is not None else None)
        for di in plane_node:
            name = _local(di.tag)
            if name == "BPMNShape":
                shape = _shape(di, nodes)
                if shape is not None:
                    plane.shapes.append(shape)
            elif name == "BPMNEdge":
                edge = _edge(di, nodes, defaults)
                if edge is not None:
                    plane.edges.append(edge)
        planes.append(plane)
    if not any(p.shapes for p in planes):
        raise InvalidBpmn(f"{file}: no diagram layout (BPMN DI) to draw", file=file)
    flows = {fid: (n.get("sourceRef"), n.get("targetRef")) for fid, n in nodes.items()
             if _local(n.tag) == "sequenceFlow"}
    return Diagram(
        planes=planes,
        elements={eid: _local(n.tag) for eid, n in nodes.items()},
        flows=flows,
        names={eid: name for eid, n in nodes.items() if (name := _name(n, nodes))},
        parents=_parents(nodes),
        boundary={eid: (n.get("attachedToRef", ""), _bool(n, "cancelActivity", True)) for eid, n in nodes.items()
                  if _local(n.tag) == "boundaryEvent"},
        timers=frozenset(eid for eid, n in nodes.items() if "timer" in _event_definitions(n)),
        conditional_flows=frozenset(fid for fid in flows
                                    if nodes[fid].find(f"{{{BPMN}}}conditionExpression") is not None),
    )


@dataclass(frozen=True)
class Semantics:
    """The model part of a BPMN document (no layout needed): element types, names and nesting."""

    elements: dict[str, str]
    names: dict[str, str]
    parents: dict[str, str]
    stages: list[str]  # subprocesses directly inside the executable process, in document order
    boundary: dict[str, tuple[str, bool]] = field(default_factory=dict)  # boundary id -> (host, interrupting)
    timers: frozenset[str] = frozenset()  # events with a timer definition


def parse_semantics(source: bytes, *, file: str = "<bpmn>") -> Semantics:
    tree = parse_xml(source, file=file)
    root = tree.getroot()
    nodes = {n.get("id"): n for n in root.iter() if isinstance(n.tag, str) and n.get("id")
             and etree.QName(n).namespace == BPMN}
    processes = root.findall(f"{{{BPMN}}}process")
    executable = [p for p in processes if p.get("isExecutable", "true").lower() == "true"] or processes
    stages = [n.get("id") for n in (executable[0] if executable else root)
              if isinstance(n.tag, str) and _local(n.tag) in SUBPROCESS_TYPES and n.get("id")]
    return Semantics(
        elements={eid: _local(n.tag) for eid, n in nodes.items()},
        names={eid: name for eid, n in nodes.items() if (name := _name(n, nodes))},
        parents=_parents(nodes),
        stages=stages,
        boundary={eid: (n.get("attachedToRef", ""), _bool(n, "cancelActivity", True)) for eid, n in nodes.items()
                  if _local(n.tag) == "boundaryEvent"},
        timers=frozenset(eid for eid, n in nodes.items() if "timer" in _event_definitions(n)),
    )


def _parents(nodes: dict[str, etree._Element]) -> dict[str, str]:
    parents = {}
    for element_id, node in nodes.items():
        ancestor = node.getparent()
        while ancestor is not None and _local(ancestor.tag) not in SUBPROCESS_TYPES | {"process"}:
            ancestor = ancestor.getparent()
        if ancestor is not None and _local(ancestor.tag) in SUBPROCESS_TYPES and ancestor.get("id"):
            parents[element_id] = ancestor.get("id")
    return parents
