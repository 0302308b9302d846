"""The shape of a BPMN document as designers compare versions: flow nodes and sequence flows, by id.

What a version diff and a coverage report need and the deployed `elements` rows do not hold: sequence flows
(source, target, name, condition), each node's BPMN type, the (sub)process it sits in, boundary attachment and
timer texts. Read with the hostile-XML-safe parser; the document was already validated when it was deployed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn.xml import parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CONTAINERS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
FLOW_NODES = frozenset({
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "task", "userTask", "serviceTask", "scriptTask", "manualTask", "businessRuleTask", "sendTask", "receiveTask",
    "subProcess", "transaction", "adHocSubProcess", "callActivity",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway",
})
TIMER_TAGS = ("timeDuration", "timeDate", "timeCycle")


@dataclass(frozen=True)
class NodeShape:
    id: str
    type: str  # BPMN local name: userTask, exclusiveGateway, boundaryEvent, ...
    name: str | None
    container: str | None  # the enclosing subprocess id (None: the process itself)
    attached_to: str | None = None
    interrupting: bool | None = None  # boundary events
    events: tuple[str, ...] = ()  # event definitions, shortened: ("timer",), ("error",), ("terminate",)
    timer: str | None = None  # "timeDuration=P5D"
    default_flow: str | None = None  # gateways and activities

    def as_dict(self) -> dict[str, object]:
        return {"type": self.type, "name": self.name, "container": self.container, "attached_to": self.attached_to,
                "interrupting": self.interrupting, "events": list(self.events), "timer": self.timer,
                "default_flow": self.default_flow}


@dataclass(frozen=True)
class FlowShape:
    id: str
    source: str
    target: str
    name: str | None
    condition: str | None

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "target": self.target, "name": self.name, "condition": self.condition}


@dataclass(frozen=True)
class Structure:
    process_id: str | None
    nodes: dict[str, NodeShape] = field(default_factory=dict)
    flows: dict[str, FlowShape] = field(default_factory=dict)


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname if isinstance(node.tag, str) else ""


def _container(node: etree._Element) -> str | None:
    for ancestor in node.iterancestors():
        kind = _local(ancestor)
        if kind in CONTAINERS:
            return None if kind == "process" else ancestor.get("id")
    return None


def _timer(node: etree._Element) -> str | None:
    definition = node.find(f"{{{BPMN_NS}}}timerEventDefinition")
    if definition is None:
        return None
    for tag in TIMER_TAGS:
        found = definition.find(f"{{{BPMN_NS}}}{tag}")
        if found is not None:
            return f"{tag}={(found.text or '').strip()}"
    return None


def _events(node: etree._Element) -> tuple[str, ...]:
    return tuple(_local(child)[: -len("EventDefinition")] for child in node
                 if _local(child).endswith("EventDefinition"))


def _executable(root: etree._Element) -> etree._Element | None:
    processes = root.findall(f"{{{BPMN_NS}}}process")
    executable = [p for p in processes if p.get("isExecutable", "true").lower() == "true"]
    return (executable or processes or [None])[0]


def read_structure(source: bytes, *, file: str = "<bpmn>") -> Structure:
    """Flow nodes and sequence flows of the document's executable process (nested subprocesses included)."""
    root = parse_xml(source, file=file).getroot()
    process = _executable(root)
    if process is None:
        return Structure(None)
    nodes: dict[str, NodeShape] = {}
    flows: dict[str, FlowShape] = {}
    for node in process.iter():
        kind = _local(node)
        node_id = node.get("id") if isinstance(node.tag, str) else None
        if not node_id:
            continue
        if kind == "sequenceFlow":
            condition = node.find(f"{{{BPMN_NS}}}conditionExpression")
            text = (condition.text or "").strip() if condition is not None else None
            flows[node_id] = FlowShape(node_id, node.get("sourceRef", ""), node.get("targetRef", ""),
                                       node.get("name"), text or None)
        elif kind in FLOW_NODES:
            boundary = kind == "boundaryEvent"
            nodes[node_id] = NodeShape(
                id=node_id, type=kind, name=node.get("name"), container=_container(node),
                attached_to=node.get("attachedToRef") if boundary else None,
                interrupting=(node.get("cancelActivity", "true").strip() != "false") if boundary else None,
                events=_events(node), timer=_timer(node), default_flow=node.get("default"))
    return Structure(process.get("id"), nodes, flows)
