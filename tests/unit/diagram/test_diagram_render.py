"""The SVG renderer on the shipped processes and on a corpus written the way other modelers save diagrams."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from engine.diagram import Highlight, parse_diagram, render_svg
from engine.diagram.model import BPMNDI, Diagram
from engine.diagram.text import text_width, wrap
from engine.errors import HostileXml, InvalidBpmn
from tests.conftest import DATA, ROOT

SVG = "http://www.w3.org/2000/svg"
NS = {"s": SVG}
CORPUS = sorted((DATA / "diagrams").glob("*.bpmn"))
SHIPPED = sorted((ROOT / "processes").glob("*.bpmn"))


def _render(path: Path, highlight: Highlight | None = None) -> tuple[Diagram, etree._Element]:
    diagram = parse_diagram(path.read_bytes(), file=path.name)
    svg = render_svg(diagram, highlight)
    return diagram, etree.fromstring(svg)  # parses back: well-formed XML


def _groups(root: etree._Element, kind: str) -> dict[str, etree._Element]:
    found: dict[str, etree._Element] = {}
    for g in root.iter(f"{{{SVG}}}g"):
        if kind in (g.get("class") or "").split() and g.get("data-element-id"):
            assert g.get("data-element-id") not in found, f"two {kind} groups for {g.get('data-element-id')}"
            found[g.get("data-element-id")] = g
    return found


def _di_ids(path: Path, tag: str) -> list[str]:
    tree = etree.parse(str(path))
    return [n.get("bpmnElement") for n in tree.iter(f"{{{BPMNDI}}}{tag}")]


def _walk_path(diagram: Diagram) -> tuple[list[str], list[str]]:
    """A path a run could take: from the main process's first start event along each node's first outflow."""
    outgoing: dict[str, list[str]] = {}
    for flow_id, (source, _target) in diagram.flows.items():
        outgoing.setdefault(source or "", []).append(flow_id)
    starts = [s.element_id for s in diagram.planes[0].shapes
              if s.type == "startEvent" and s.element_id not in diagram.parents]
    nodes, flows = [starts[0]], []
    while outgoing.get(nodes[-1]) and len(nodes) < 50:
        flow = outgoing[nodes[-1]][0]
        target = diagram.flows[flow][1]
        if target in nodes:
            break
        flows.append(flow)
        nodes.append(target or "")
    return nodes, flows


def test_the_corpus_covers_the_other_modelers_styles() -> None:
    names = {p.stem for p in CORPUS}
    assert {"camunda_modeler", "bpmn_io", "spiffarena"} <= names
    styles = {p.stem: p.read_text(encoding="utf-8") for p in CORPUS}
    assert 'exporter="Camunda Modeler"' in styles["camunda_modeler"]
    assert "bpmn-js" in styles["bpmn_io"]
    assert "spiffworkflow:" in styles["spiffarena"] and "<bpmndi:BPMNLabel />" in styles["spiffarena"]


@pytest.mark.parametrize("path", CORPUS + SHIPPED, ids=lambda p: p.name)
def test_every_di_element_is_drawn_once_and_a_taken_path_is_marked(path: Path) -> None:
    diagram = parse_diagram(path.read_bytes(), file=path.name)
    nodes, flows = _walk_path(diagram)
    assert len(nodes) >= 3, "the walk should leave the start event"
    highlight = Highlight.of(completed=nodes[:-1], active=nodes[-1:], taken_flows=flows)
    _diagram, root = _render(path, highlight)
    shapes, edges = _groups(root, "shape"), _groups(root, "edge")
    assert sorted(shapes) == sorted(_di_ids(path, "BPMNShape"))
    assert sorted(edges) == sorted(_di_ids(path, "BPMNEdge"))
    for node in nodes[:-1]:
        if node in shapes:
            assert "completed" in shapes[node].get("class").split(), node
    assert "active" in shapes[nodes[-1]].get("class").split()
    for flow in flows:
        if flow in edges:
            assert edges[flow].get("data-state") == "taken"
            line = edges[flow].find("s:polyline", NS)
            assert line.get("marker-end") == "url(#seq-end-taken)"
    untouched = set(shapes) - set(nodes)
    assert all(not shapes[i].get("data-state") for i in untouched)


@pytest.mark.parametrize("path", CORPUS + SHIPPED, ids=lambda p: p.name)
def test_chinese_labels_stay_text(path: Path) -> None:
    diagram, root = _render(path)
    texts = "".join(root.itertext())
    for shape in diagram.shapes():
        if shape.name and shape.type in ("userTask", "serviceTask", "scriptTask", "manualTask", "startEvent"):
            assert shape.name.replace(" ", "")[:2] in texts.replace(" ", ""), shape.name


def test_camunda_collapsed_subprocess_gets_its_own_plane_and_a_plus_marker() -> None:
    path = DATA / "diagrams" / "camunda_modeler.bpmn"
    diagram, root = _render(path, Highlight.of(completed=["Activity_1review"], fired_timers=["Event_1deemed"],
                                               deemed=["Activity_1structure"]))
    planes = [g for g in root.iter(f"{{{SVG}}}g") if g.get("class") == "plane"]
    assert [p.get("data-plane-element") for p in planes] == ["Collaboration_0v3qz8d", "Activity_1review"]
    assert "子流程：施工图联合审查" in "".join(root.itertext())
    review = _groups(root, "shape")["Activity_1review"]
    assert len(review.findall("s:rect", NS)) >= 2, "a collapsed subprocess carries the [+] box"
    assert "completed" in review.get("class")
    timer = _groups(root, "shape")["Event_1deemed"]
    assert "fired" in timer.get("class")
    assert timer.find("s:circle[@class='icon timer-face']", NS) is not None
    structure = _groups(root, "shape")["Activity_1structure"]
    assert "deemed" in structure.get("class") and "视为同意" in "".join(structure.itertext())


def test_event_markers_and_interrupting_styles() -> None:
    path = DATA / "diagrams" / "camunda_modeler.bpmn"
    _diagram, root = _render(path)
    shapes = _groups(root, "shape")
    cap = shapes["Event_1cap"].find("s:circle[@class='body']", NS)
    assert cap.get("stroke-dasharray"), "a non-interrupting boundary timer is dashed"
    error = shapes["Event_0err"].find("s:circle[@class='body']", NS)
    assert error.get("stroke-dasharray") is None
    assert shapes["Event_0err"].find("s:polygon[@class='icon']", NS) is not None  # the error zigzag
    assert shapes["Participant_0applic"].get("data-type") == "participant"
    edges = _groups(root, "edge")
    assert edges["Flow_msg_apply"].find("s:polyline", NS).get("marker-start") == "url(#msg-start)"
    assert edges["DataInputAssociation_0m4ya3p"].find("s:polyline", NS).get("stroke-dasharray")
    default = edges["Flow_0refuse"].findall("s:line[@class='icon']", NS)
    assert len(default) == 1, "the default flow carries a slash"


def test_bpmn_io_expanded_and_event_subprocesses_markers_and_gateways() -> None:
    path = DATA / "diagrams" / "bpmn_io.bpmn"
    diagram, root = _render(path, Highlight.of(active=["Activity_0rule"]))
    shapes = _groups(root, "shape")
    expanded = shapes["Activity_0expanded"]
    assert not any(r.get("width") == "12" for r in expanded.findall("s:rect", NS)), "no [+] when expanded"
    assert shapes["Activity_0eventSub"].find("s:rect[@class='body']", NS).get("stroke-dasharray") == "2 3"
    assert len(shapes["Activity_0expertMI"].findall("s:rect[@class='icon']", NS)) == 3  # parallel bars
    call = shapes["Activity_0call"].find("s:rect[@class='body']", NS)
    assert call.get("stroke-width") == "4"
    assert shapes["Gateway_0incl"].find("s:circle[@class='icon']", NS) is not None
    assert len(shapes["Gateway_0complex"].findall("s:line[@class='icon']", NS)) == 4
    assert shapes["Event_0withdraw"].find("s:circle[@class='body']", NS).get("stroke-dasharray")
    assert diagram.parents["Activity_0rule"] == "Activity_0expanded"
    assert "补正环节" in "".join(root.itertext())  # the group's category label
    assert "Activity_0rule" in _groups(root, "shape") and "active" in shapes["Activity_0rule"].get("class")


def test_spiffarena_empty_labels_and_data_objects() -> None:
    path = DATA / "diagrams" / "spiffarena.bpmn"
    diagram, root = _render(path)
    shapes = _groups(root, "shape")
    assert shapes["DataObjectReference_1kq0d9x"].get("data-type") == "dataObjectReference"
    assert diagram.timers == frozenset({"Event_overdue"})
    assert diagram.boundary["Event_overdue"] == ("Activity_supplement", True)
    labels = {g.get("data-label-for") for g in root.iter(f"{{{SVG}}}g") if g.get("data-label-for")}
    assert {"StartEvent_1", "Gateway_0pn3c0x", "Event_overdue", "Flow_1m2yt1b"} <= labels


def test_a_document_without_layout_is_refused_clearly() -> None:
    xml = (b'<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
           b'id="d" targetNamespace="x"><bpmn:process id="p"><bpmn:startEvent id="s"/></bpmn:process>'
           b'</bpmn:definitions>')
    with pytest.raises(InvalidBpmn, match="no diagram layout"):
        parse_diagram(xml, file="bare.bpmn")


def test_hostile_xml_is_refused_before_drawing() -> None:
    xml = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(HostileXml):
        parse_diagram(xml, file="evil.bpmn")


def test_unknown_elements_and_dangling_di_still_render() -> None:
    xml = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
  xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="d" targetNamespace="x">
  <bpmn:process id="p"><bpmn:task id="t" name="审查"/></bpmn:process>
  <bpmndi:BPMNDiagram id="dg"><bpmndi:BPMNPlane id="pl" bpmnElement="p">
    <bpmndi:BPMNShape id="t_di" bpmnElement="t"><dc:Bounds x="10" y="10" width="100" height="80"/></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="ghost_di" bpmnElement="ghost"><dc:Bounds x="200" y="10" width="50" height="50"/>
    </bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="e_di" bpmnElement="nowhere"/>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>""".encode()
    root = etree.fromstring(render_svg(parse_diagram(xml)))
    shapes, edges = _groups(root, "shape"), _groups(root, "edge")
    assert set(shapes) == {"t", "ghost"} and shapes["ghost"].get("data-type") == "unknown"
    assert set(edges) == {"nowhere"}


def test_wrapping_keeps_chinese_inside_the_box_and_latin_words_whole() -> None:
    lines = wrap("施工图联合审查（结构、消防、人防）", 88)
    assert len(lines) > 1 and all(text_width(line) <= 88 for line in lines)
    assert "".join(lines) == "施工图联合审查（结构、消防、人防）"
    assert wrap("Deemed approved (Planning)", 105) == ["Deemed approved", "(Planning)"]
    assert wrap("很长的名称" * 10, 60, max_lines=2)[-1].endswith("…")
