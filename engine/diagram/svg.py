"""Render a `Diagram` as one SVG document, with an instance's path highlighted.

Every BPMNShape becomes one `<g class="shape …" data-element-id="…">` and every BPMNEdge one
`<g class="edge …" data-element-id="…">`; highlight states are CSS classes on those groups (`completed`, `active`,
`fired`, `deemed`, `taken`), so a page can restyle them and a test can find them. The main plane comes first;
each drill-down plane (a collapsed subprocess's content, as Camunda Modeler, bpmn.io and SpiffArena write it) is
drawn below it under its own heading.
"""

from __future__ import annotations

from lxml import etree

from engine.diagram.highlight import Highlight
from engine.diagram.model import (
    EVENT_TYPES,
    GATEWAY_TYPES,
    SUBPROCESS_TYPES,
    Bounds,
    Diagram,
    Edge,
    Plane,
    Point,
    Shape,
)
from engine.diagram.shapes import FILL, STROKE, SVG_NS, draw_shape, el, points, text_lines
from engine.diagram.text import FONT_SIZE, LINE_HEIGHT, text_width, wrap

MARGIN = 20.0
HEADING = 28.0
PLANE_GAP = 36.0
LEGEND_HEIGHT = 34.0
FONT_FAMILY = "'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif"
COLORS = {"completed": "#2e7d32", "active": "#1565c0", "fired": "#ef6c00", "deemed": "#8e24aa", "taken": "#2e7d32"}
EXTERNAL_LABEL_TYPES = EVENT_TYPES | GATEWAY_TYPES | {"dataObjectReference", "dataStoreReference", "dataObject",
                                                      "dataInput", "dataOutput"}
# Drawn first so flows and nodes sit on top of them.
CONTAINER_TYPES = {"participant", "lane", "group"}
LEGEND = (("completed", "已完成"), ("active", "进行中"), ("taken", "已走路径"), ("fired", "已触发定时器"),
          ("deemed", "超时默认同意"))

STYLE = f"""
svg {{ background: #ffffff; }}
text {{ font-family: {FONT_FAMILY}; fill: {STROKE}; }}
.shape.completed > .body {{ stroke: {COLORS['completed']}; fill: #e8f5e9; }}
.shape.active > .body {{ stroke: {COLORS['active']}; fill: #e3f2fd; stroke-width: 3.5px; }}
.shape.fired > .body, .shape.fired > .body-inner {{ stroke: {COLORS['fired']}; fill: #fff3e0; }}
.shape.deemed > .body {{ stroke: {COLORS['deemed']}; fill: #f3e5f5; stroke-dasharray: 7 3; stroke-width: 3px; }}
.edge.taken > .line {{ stroke: {COLORS['taken']}; stroke-width: 3px; }}
.badge rect {{ fill: {COLORS['deemed']}; }}
.badge text {{ fill: #ffffff; }}
.plane-heading {{ font-weight: bold; }}
"""


def render_svg(diagram: Diagram, highlight: Highlight | None = None, *, title: str | None = None) -> bytes:
    """The whole diagram as UTF-8 SVG bytes (text kept as text, so Chinese labels stay searchable)."""
    hl = highlight or Highlight()
    planes = [p for p in diagram.planes if p.shapes or p.edges]
    ordered = [p for p in planes if not p.is_drilldown] + [p for p in planes if p.is_drilldown]
    root = etree.Element(f"{{{SVG_NS}}}svg", nsmap={None: SVG_NS})
    root.set("version", "1.1")
    root.set("font-family", FONT_FAMILY.replace("'", ""))
    style = el(root, "style")
    style.text = STYLE
    _defs(root)
    y = MARGIN
    width = 0.0
    if title:
        text_lines(root, [title], MARGIN, y - 4, size=FONT_SIZE + 4, anchor="start", class_="title")
        y += HEADING
    for index, plane in enumerate(ordered):
        box = _extent(plane)
        heading = plane.is_drilldown or (index > 0)
        if heading:
            label = f"子流程：{plane.name or plane.element_id}" if plane.is_drilldown else (plane.name or "")
            text_lines(root, [label], MARGIN, y - 2, size=FONT_SIZE + 1, anchor="start", class_="plane-heading")
            y += HEADING
        group = el(root, "g", class_="plane", transform=f"translate({MARGIN - box.x:.1f} {y - box.y:.1f})")
        group.set("data-plane-element", plane.element_id or "")
        _draw_plane(group, plane, hl)
        y += box.height + PLANE_GAP
        width = max(width, box.width)
    if not hl.is_empty():
        _legend(root, MARGIN, y - PLANE_GAP + 14)
        y += LEGEND_HEIGHT
        width = max(width, 560)
    total_w = width + 2 * MARGIN
    total_h = y - PLANE_GAP + MARGIN + (LEGEND_HEIGHT if not hl.is_empty() else 0)
    root.set("width", f"{total_w:.0f}")
    root.set("height", f"{total_h:.0f}")
    root.set("viewBox", f"0 0 {total_w:.0f} {total_h:.0f}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _defs(root: etree._Element) -> None:
    defs = el(root, "defs")
    for marker_id, color in (("seq-end", STROKE), ("seq-end-taken", COLORS["taken"])):
        marker = el(defs, "marker", id=marker_id, viewBox="0 0 20 20", refX=11, refY=10, markerWidth=12,
                    markerHeight=12, orient="auto", markerUnits="userSpaceOnUse")
        el(marker, "path", d="M 1 5 L 11 10 L 1 15 Z", fill=color, stroke=color, stroke_width=1)
    marker = el(defs, "marker", id="msg-end", viewBox="0 0 20 20", refX=8.5, refY=5, markerWidth=20,
                markerHeight=20, orient="auto", markerUnits="userSpaceOnUse")
    el(marker, "path", d="m 1 5 l 0 -3 l 7 3 l -7 3 z", fill=FILL, stroke=STROKE, stroke_width=1)
    marker = el(defs, "marker", id="msg-start", viewBox="0 0 20 20", refX=6, refY=6, markerWidth=20,
                markerHeight=20, markerUnits="userSpaceOnUse")
    el(marker, "circle", cx=6, cy=6, r=3.5, fill=FILL, stroke=STROKE, stroke_width=1)
    marker = el(defs, "marker", id="assoc-end", viewBox="0 0 20 20", refX=12, refY=10, markerWidth=12,
                markerHeight=12, orient="auto", markerUnits="userSpaceOnUse")
    el(marker, "path", d="M 1 5 L 11 10 L 1 15", fill="none", stroke=STROKE, stroke_width=1.5)


def _extent(plane: Plane) -> Bounds:
    xs: list[float] = []
    ys: list[float] = []
    for shape in plane.shapes:
        b = shape.bounds
        xs += [b.x, b.right]
        ys += [b.y, b.bottom]
        if shape.label is not None:
            xs += [shape.label.x, shape.label.right]
            ys += [shape.label.y, shape.label.bottom + FONT_SIZE]
        elif shape.type in EXTERNAL_LABEL_TYPES and shape.name:
            xs += [b.cx - 50, b.cx + 50]
            ys.append(b.bottom + 6 + 3 * FONT_SIZE * LINE_HEIGHT)
        if shape.type in ("userTask", "serviceTask", "task") or shape.type in SUBPROCESS_TYPES:
            ys.append(b.y - 18)  # room for a badge
    for edge in plane.edges:
        xs += [p.x for p in edge.waypoints]
        ys += [p.y for p in edge.waypoints]
        if edge.label is not None:
            xs += [edge.label.x, edge.label.right]
            ys += [edge.label.y, edge.label.bottom + FONT_SIZE]
    if not xs:
        return Bounds(0, 0, 100, 40)
    return Bounds(min(xs), min(ys), max(max(xs) - min(xs), 1.0), max(max(ys) - min(ys), 1.0))


def _layer(shape: Shape) -> int:
    if shape.type in CONTAINER_TYPES:
        return 0 if shape.type == "participant" else (1 if shape.type == "lane" else 2)
    if shape.type in SUBPROCESS_TYPES and shape.expanded:
        return 3
    if shape.type == "boundaryEvent":
        return 6
    return 5


def _draw_plane(group: etree._Element, plane: Plane, hl: Highlight) -> None:
    containers = el(group, "g", class_="layer-containers")
    edges = el(group, "g", class_="layer-edges")
    nodes = el(group, "g", class_="layer-nodes")
    labels = el(group, "g", class_="layer-labels")
    # Stable: document order within a layer; an expanded subprocess sits under its content.
    shapes = sorted(plane.shapes, key=_layer)
    for shape in shapes:
        layer = _layer(shape)
        parent = containers if layer <= 3 else nodes
        _shape_group(parent, labels, shape, hl)
    for edge in plane.edges:
        _edge_group(edges, labels, edge, hl)


def _shape_group(parent: etree._Element, labels: etree._Element, shape: Shape, hl: Highlight) -> None:
    states = [] if shape.type in CONTAINER_TYPES else hl.states(shape.element_id)
    group = el(parent, "g", class_=" ".join(["shape", shape.type, *states]))
    group.set("data-element-id", shape.element_id)
    group.set("data-type", shape.type)
    if states:
        group.set("data-state", " ".join(states))
    tip = el(group, "title")
    tip.text = f"{shape.name or ''} ({shape.element_id})".strip() + (f" · {' '.join(states)}" if states else "")
    draw_shape(group, shape)
    if states:
        _paint(group, states[-1])
    if "deemed" in states:
        _badge(group, shape.bounds, "视为同意")
    if shape.name and (shape.type in EXTERNAL_LABEL_TYPES or (shape.type == "group" and shape.label is not None)):
        _external_label(labels, shape)


# The same look as STYLE, as presentation attributes: an SVG shown through <img> under a strict
# Content-Security-Policy may not apply its <style> element, and the highlight must survive that.
PAINT = {
    "completed": {"stroke": COLORS["completed"], "fill": "#e8f5e9"},
    "active": {"stroke": COLORS["active"], "fill": "#e3f2fd", "stroke-width": "3.5"},
    "fired": {"stroke": COLORS["fired"], "fill": "#fff3e0"},
    "deemed": {"stroke": COLORS["deemed"], "fill": "#f3e5f5", "stroke-width": "3", "stroke-dasharray": "7 3"},
}


def _paint(group: etree._Element, state: str) -> None:
    for node in group:
        classes = (node.get("class") or "").split()
        if "body" in classes or (state == "fired" and "body-inner" in classes):
            for key, value in PAINT[state].items():
                if key == "fill" and node.get("fill") == "none":
                    continue
                node.set(key, value)


def _badge(group: etree._Element, b: Bounds, text: str) -> None:
    badge = el(group, "g", class_="badge")
    w = text_width(text, FONT_SIZE - 2) + 8
    el(badge, "rect", x=b.right - w, y=b.y - 16, width=w, height=15, rx=3, ry=3, fill=COLORS["deemed"])
    text_lines(badge, [text], b.right - w / 2, b.y - 17, size=FONT_SIZE - 2)


def _external_label(labels: etree._Element, shape: Shape) -> None:
    assert shape.name is not None
    node = el(labels, "g", class_="external-label")
    node.set("data-label-for", shape.element_id)
    if shape.label is not None and shape.label.width > 0:
        box = shape.label
        # The modeler sized the box with its own font metrics: allow some slack before wrapping.
        lines = wrap(shape.name, max(box.width * 1.15 + 6, 40), size=FONT_SIZE - 1)
        text_lines(node, lines, box.cx, box.y - 2, size=FONT_SIZE - 1)
    else:
        b = shape.bounds
        lines = wrap(shape.name, 90, size=FONT_SIZE - 1, max_lines=3)
        text_lines(node, lines, b.cx, b.bottom + 2, size=FONT_SIZE - 1)


def _edge_group(parent: etree._Element, labels: etree._Element, edge: Edge, hl: Highlight) -> None:
    taken = edge.element_id in hl.taken_flows
    group = el(parent, "g", class_=" ".join(["edge", edge.type] + (["taken"] if taken else [])))
    group.set("data-element-id", edge.element_id)
    group.set("data-type", edge.type)
    if taken:
        group.set("data-state", "taken")
    tip = el(group, "title")
    tip.text = f"{edge.name or ''} ({edge.element_id})".strip()
    pts = [(p.x, p.y) for p in edge.waypoints]
    if len(pts) >= 2:
        attrs: dict[str, object] = {"fill": "none", "stroke": STROKE, "stroke_width": 1.5,
                                    "stroke_linejoin": "round"}
        if edge.type == "sequenceFlow":
            attrs["marker_end"] = "url(#seq-end-taken)" if taken else "url(#seq-end)"
            if taken:
                attrs.update(stroke=COLORS["taken"], stroke_width=3)
        elif edge.type == "messageFlow":
            attrs.update(stroke_dasharray="10 6", marker_end="url(#msg-end)", marker_start="url(#msg-start)")
        else:  # associations, data associations
            attrs.update(stroke_dasharray="2 4", stroke_width=1.2)
            if edge.type in ("dataInputAssociation", "dataOutputAssociation") or edge.directed:
                attrs["marker_end"] = "url(#assoc-end)"
        el(group, "polyline", class_="line", points=points(pts), **attrs)
        if edge.default:
            _default_slash(group, edge.waypoints[0], edge.waypoints[1])
        if edge.conditional:
            _condition_diamond(group, edge.waypoints[0], edge.waypoints[1])
    if edge.name:
        _edge_label(labels, edge)


def _unit(a: Point, b: Point) -> tuple[float, float]:
    dx, dy = b.x - a.x, b.y - a.y
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    return dx / length, dy / length


def _default_slash(group: etree._Element, a: Point, b: Point) -> None:
    ux, uy = _unit(a, b)
    cx, cy = a.x + ux * 10, a.y + uy * 10
    # A short stroke across the flow, tilted 45 degrees.
    px, py = -uy, ux
    x1, y1 = cx - (px + ux) * 5, cy - (py + uy) * 5
    x2, y2 = cx + (px + ux) * 5, cy + (py + uy) * 5
    el(group, "line", class_="icon", x1=x1, y1=y1, x2=x2, y2=y2, stroke=STROKE, stroke_width=1.5)


def _condition_diamond(group: etree._Element, a: Point, b: Point) -> None:
    ux, uy = _unit(a, b)
    px, py = -uy, ux
    pts = [(a.x, a.y), (a.x + ux * 8 + px * 5, a.y + uy * 8 + py * 5), (a.x + ux * 16, a.y + uy * 16),
           (a.x + ux * 8 - px * 5, a.y + uy * 8 - py * 5)]
    el(group, "polygon", class_="icon", points=points(pts), fill=FILL, stroke=STROKE, stroke_width=1.2)


def _edge_label(labels: etree._Element, edge: Edge) -> None:
    assert edge.name is not None
    node = el(labels, "g", class_="external-label")
    node.set("data-label-for", edge.element_id)
    if edge.label is not None and edge.label.width > 0:
        lines = wrap(edge.name, max(edge.label.width * 1.15 + 6, 40), size=FONT_SIZE - 1)
        text_lines(node, lines, edge.label.cx, edge.label.y - 2, size=FONT_SIZE - 1)
        return
    if not edge.waypoints:
        return
    # No label bounds: beside the middle of the longest segment (above it if horizontal, right of it if not).
    segments = list(zip(edge.waypoints, edge.waypoints[1:])) or [(edge.waypoints[0], edge.waypoints[0])]
    a, b = max(segments, key=lambda s: abs(s[1].x - s[0].x) + abs(s[1].y - s[0].y))
    lines = wrap(edge.name, 90, max_lines=2)
    height = FONT_SIZE * LINE_HEIGHT * len(lines)
    if abs(b.x - a.x) >= abs(b.y - a.y):
        text_lines(node, lines, (a.x + b.x) / 2, (a.y + b.y) / 2 - height - 3, size=FONT_SIZE - 1)
    else:
        width = max(text_width(line, FONT_SIZE - 1) for line in lines)
        text_lines(node, lines, a.x + 6 + width / 2, (a.y + b.y) / 2 - height / 2, size=FONT_SIZE - 1)


def _legend(root: etree._Element, x: float, y: float) -> None:
    group = el(root, "g", class_="legend")
    for state, label in LEGEND:
        color = COLORS[state]
        if state == "taken":
            el(group, "line", x1=x, y1=y + 7, x2=x + 22, y2=y + 7, stroke=color, stroke_width=3)
        else:
            el(group, "rect", x=x, y=y, width=22, height=14, rx=3, ry=3, fill="#ffffff", stroke=color,
               stroke_width=2.5)
        text_lines(group, [label], x + 28, y - 1, anchor="start")
        x += 34 + text_width(label) + 14
