"""Serialize a `Process` (and its layout) to BPMN 2.0 XML with Spiff extensions and BPMN DI."""

from __future__ import annotations

from lxml import etree

from tools.processgen.layout import Layout
from tools.processgen.model import Container, Node, Process, Timer

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "spiffworkflow": SPIFF}

_TAGS = {
    "start": "startEvent", "end": "endEvent", "user": "userTask", "service": "serviceTask",
    "script": "scriptTask", "xor": "exclusiveGateway", "par": "parallelGateway", "sub": "subProcess",
    "boundary": "boundaryEvent", "catch_timer": "intermediateCatchEvent",
}


def _el(parent: etree._Element, tag: str, ns: str = BPMN, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{tag}")
    for key, value in attrs.items():
        element.set(key, value)
    return element


def _properties(parent: etree._Element, props: dict[str, str]) -> None:
    if not props:
        return
    extensions = parent.find(f"{{{BPMN}}}extensionElements")
    if extensions is None:
        extensions = _el(parent, "extensionElements")
    holder = _el(extensions, "properties", SPIFF)
    for key, value in props.items():
        _el(holder, "property", SPIFF, name=key, value=value)


def _documentation(parent: etree._Element, text: str | None) -> None:
    if text:
        _el(parent, "documentation").text = text


def _timer(parent: etree._Element, node_id: str, timer: Timer) -> None:
    definition = _el(parent, "timerEventDefinition", id=f"{node_id}_def")
    tag = "timeDuration" if timer.kind == "duration" else "timeDate"
    expression = _el(definition, tag)
    expression.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
    expression.text = timer.text


def _node(parent: etree._Element, container: Container, node: Node) -> None:
    attrs: dict[str, str] = {"id": node.id}
    if node.name:
        attrs["name"] = node.name
    if node.kind == "boundary":
        attrs["attachedToRef"] = node.host or ""
        attrs["cancelActivity"] = "true" if node.interrupting else "false"
    if node.kind == "xor" and node.id in container.defaults:
        attrs["default"] = container.defaults[node.id]
    element = _el(parent, _TAGS[node.kind], **attrs)
    _documentation(element, node.documentation)
    props = dict(node.props)
    if node.timer is not None:
        timer_props = {"calendar": node.timer.calendar}
        if node.timer.calendar == "workday":
            timer_props["pausable"] = "true" if node.timer.pausable else "false"
        props = {**timer_props, **props}
    if node.kind == "service":
        extensions = _el(element, "extensionElements")
        operator = _el(extensions, "serviceTaskOperator", SPIFF, id=node.topic or "")
        if node.result:
            operator.set("resultVariable", node.result)
        parameters = _el(operator, "parameters", SPIFF)
        for key, value in node.params.items():
            _el(parameters, "parameter", SPIFF, id=key, type="str", value=value)
    _properties(element, props)
    for flow in container.incoming(node.id):
        _el(element, "incoming").text = flow.id
    for flow in container.outgoing(node.id):
        _el(element, "outgoing").text = flow.id
    if node.kind == "end" and node.terminate:
        _el(element, "terminateEventDefinition", id=f"{node.id}_def")
    if node.kind == "script":
        _el(element, "script").text = node.script
    if node.timer is not None:
        _timer(element, node.id, node.timer)
    if node.kind == "sub" and node.body is not None:
        _body(element, node.body)


def _body(parent: etree._Element, container: Container) -> None:
    for node in container.nodes.values():
        _node(parent, container, node)
    for flow in container.flows:
        attrs = {"id": flow.id, "sourceRef": flow.source, "targetRef": flow.target}
        if flow.name:
            attrs["name"] = flow.name
        element = _el(parent, "sequenceFlow", **attrs)
        if flow.condition:
            condition = _el(element, "conditionExpression")
            condition.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
            condition.text = flow.condition


def _di(root: etree._Element, process: Process, layout: Layout) -> None:
    diagram = _el(root, "BPMNDiagram", BPMNDI, id=f"{process.id}_diagram")
    plane = _el(diagram, "BPMNPlane", BPMNDI, id=f"{process.id}_plane", bpmnElement=process.id)
    for node_id, box in layout.shapes.items():
        attrs = {"id": f"{node_id}_di", "bpmnElement": node_id}
        if box.expanded:
            attrs["isExpanded"] = "true"
        if box.marker:
            attrs["isMarkerVisible"] = "true"
        shape = _el(plane, "BPMNShape", BPMNDI, **attrs)
        _el(shape, "Bounds", DC, x=_n(box.x), y=_n(box.y), width=_n(box.w), height=_n(box.h))
    for flow_id, points in layout.edges.items():
        edge = _el(plane, "BPMNEdge", BPMNDI, id=f"{flow_id}_di", bpmnElement=flow_id)
        for x, y in points:
            _el(edge, "waypoint", DI, x=_n(x), y=_n(y))


def _n(value: float) -> str:
    return str(round(value))


def to_xml(process: Process, layout: Layout, *, exporter: str) -> bytes:
    root = etree.Element(f"{{{BPMN}}}definitions", nsmap=NSMAP)
    root.set("id", f"{process.id}_definitions")
    root.set("targetNamespace", "http://hohhot.example/approvals")
    root.set("exporter", exporter)
    root.set("exporterVersion", "1")
    element = _el(root, "process", id=process.id, name=process.name, isExecutable="true")
    _documentation(element, process.documentation)
    _properties(element, process.props)
    _body(element, process)
    _di(root, process, layout)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
