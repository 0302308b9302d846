"""Draw one BPMN shape into an SVG group: its outline (class `body`), type icon and markers (class `icon`).

Geometry follows bpmn-js's look (rounded task boxes, 36 px event circles, diamond gateways) so diagrams read the
same here as in the modelers. Labels outside the shape (events, gateways, data) are drawn by `svg.py`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lxml import etree

from engine.diagram.model import (
    ACTIVITY_TYPES,
    EVENT_TYPES,
    GATEWAY_TYPES,
    SUBPROCESS_TYPES,
    Bounds,
    Shape,
)
from engine.diagram.text import FONT_SIZE, LINE_HEIGHT, wrap

SVG_NS = "http://www.w3.org/2000/svg"
STROKE = "#22242a"
FILL = "#ffffff"


def el(parent: etree._Element, tag: str, **attrs: object) -> etree._Element:
    """An SVG child; `class_` -> class, `stroke_width` -> stroke-width."""
    node = etree.SubElement(parent, f"{{{SVG_NS}}}{tag}")
    for key, value in attrs.items():
        if value is None:
            continue
        node.set(key.rstrip("_").replace("_", "-"), _fmt(value))
    return node


def _fmt(value: object) -> str:
    if isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return text if text != "-0" else "0"
    return str(value)


def points(pts: list[tuple[float, float]]) -> str:
    return " ".join(f"{_fmt(float(x))},{_fmt(float(y))}" for x, y in pts)


def text_lines(parent: etree._Element, lines: list[str], cx: float, top: float, *, size: float = FONT_SIZE,
               anchor: str = "middle", class_: str = "label") -> None:
    """Lines of text whose first baseline sits one line below `top`."""
    node = el(parent, "text", class_=class_, x=cx, y=top, font_size=size, text_anchor=anchor)
    for i, line in enumerate(lines):
        span = el(node, "tspan", x=cx, y=top + size + i * size * LINE_HEIGHT)
        span.text = line


def draw_shape(group: etree._Element, shape: Shape) -> None:
    kind = shape.type
    if kind in EVENT_TYPES:
        _event(group, shape)
    elif kind in GATEWAY_TYPES:
        _gateway(group, shape)
    elif kind in ACTIVITY_TYPES:
        _activity(group, shape)
    elif kind == "participant":
        _container(group, shape, band=True)
    elif kind == "lane":
        _container(group, shape, band=True, lane=True)
    elif kind in ("dataObjectReference", "dataObject", "dataInput", "dataOutput"):
        _data_object(group, shape)
    elif kind == "dataStoreReference":
        _data_store(group, shape)
    elif kind == "textAnnotation":
        _annotation(group, shape)
    elif kind == "group":
        _group(group, shape)
    else:
        b = shape.bounds
        el(group, "rect", class_="body unknown", x=b.x, y=b.y, width=b.width, height=b.height,
           fill=FILL, stroke="#999999", stroke_dasharray="4 2")


# --- events -------------------------------------------------------------------------------------------------------

def _event(group: etree._Element, shape: Shape) -> None:
    b = shape.bounds
    r = min(b.width, b.height) / 2
    cx, cy = b.cx, b.cy
    dash = None if shape.interrupting else "5 3"
    if shape.type == "endEvent":
        el(group, "circle", class_="body", cx=cx, cy=cy, r=r - 2, fill=FILL, stroke=STROKE, stroke_width=4)
    else:
        el(group, "circle", class_="body", cx=cx, cy=cy, r=r, fill=FILL, stroke=STROKE, stroke_width=1.5,
           stroke_dasharray=dash if shape.type in ("startEvent", "boundaryEvent") else None)
        if shape.type in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
            el(group, "circle", class_="body-inner", cx=cx, cy=cy, r=r - 3, fill="none", stroke=STROKE,
               stroke_width=1.2, stroke_dasharray=dash)
    filled = shape.type in ("endEvent", "intermediateThrowEvent")
    definitions = shape.event_definitions
    if len(definitions) > 1:
        _pentagon(group, cx, cy, r * 0.5, filled)
    elif definitions:
        drawer = _EVENT_MARKERS.get(definitions[0])
        if drawer:
            drawer(group, cx, cy, r, filled)


def _timer(group: etree._Element, cx: float, cy: float, r: float, _filled: bool) -> None:
    rr = r * 0.6
    el(group, "circle", class_="icon timer-face", cx=cx, cy=cy, r=rr, fill=FILL, stroke=STROKE, stroke_width=1.5)
    for i in range(12):
        a = math.radians(i * 30)
        el(group, "line", class_="icon", x1=cx + math.cos(a) * rr * 0.75, y1=cy + math.sin(a) * rr * 0.75,
           x2=cx + math.cos(a) * rr, y2=cy + math.sin(a) * rr, stroke=STROKE, stroke_width=1)
    el(group, "polyline", class_="icon", points=points([(cx + rr * 0.5, cy - rr * 0.2), (cx, cy),
                                                        (cx + rr * 0.15, cy - rr * 0.75)]),
       fill="none", stroke=STROKE, stroke_width=1.5)


def _envelope(group: etree._Element, cx: float, cy: float, w: float, h: float, filled: bool) -> None:
    x, y = cx - w / 2, cy - h / 2
    el(group, "rect", class_="icon", x=x, y=y, width=w, height=h, fill=STROKE if filled else FILL,
       stroke=STROKE, stroke_width=1)
    el(group, "polyline", class_="icon", points=points([(x, y), (cx, cy + h * 0.1), (x + w, y)]), fill="none",
       stroke=FILL if filled else STROKE, stroke_width=1)


def _message(group: etree._Element, cx: float, cy: float, r: float, filled: bool) -> None:
    _envelope(group, cx, cy, r * 0.95, r * 0.65, filled)


def _error(group: etree._Element, cx: float, cy: float, r: float, filled: bool) -> None:
    s = r * 0.55
    pts = [(cx - s * 0.9, cy + s * 0.9), (cx - s * 0.35, cy - s * 0.8), (cx + s * 0.15, cy + s * 0.15),
           (cx + s * 0.9, cy - s * 0.9), (cx + s * 0.35, cy + s * 0.8), (cx - s * 0.15, cy - s * 0.15)]
    el(group, "polygon", class_="icon", points=points(pts), fill=STROKE if filled else FILL, stroke=STROKE,
       stroke_width=1.2)


def _signal(group: etree._Element, cx: float, cy: float, r: float, filled: bool) -> None:
    s = r * 0.55
    el(group, "polygon", class_="icon", points=points([(cx, cy - s), (cx + s, cy + s * 0.75), (cx - s, cy + s * 0.75)]),
       fill=STROKE if filled else FILL, stroke=STROKE, stroke_width=1.2)


def _escalation(group: etree._Element, cx: float, cy: float, r: float, filled: bool) -> None:
    s = r * 0.55
    pts = [(cx, cy - s), (cx + s * 0.6, cy + s * 0.8), (cx, cy + s * 0.1), (cx - s * 0.6, cy + s * 0.8)]
    el(group, "polygon", class_="icon", points=points(pts), fill=STROKE if filled else FILL, stroke=STROKE,
       stroke_width=1.2)


def _conditional(group: etree._Element, cx: float, cy: float, r: float, _filled: bool) -> None:
    w, h = r * 0.8, r * 1.0
    el(group, "rect", class_="icon", x=cx - w / 2, y=cy - h / 2, width=w, height=h, fill=FILL, stroke=STROKE,
       stroke_width=1)
    for i in range(1, 5):
        y = cy - h / 2 + i * h / 5
        el(group, "line", class_="icon", x1=cx - w / 2 + 2, y1=y, x2=cx + w / 2 - 2, y2=y, stroke=STROKE,
           stroke_width=1)


def _rewind(group: etree._Element, cx: float, cy: float, s: float, filled: bool) -> None:
    for dx in (-s * 0.5, s * 0.5):
        pts = [(cx + dx - s * 0.5, cy), (cx + dx + s * 0.5, cy - s * 0.5), (cx + dx + s * 0.5, cy + s * 0.5)]
        el(group, "polygon", class_="icon", points=points(pts), fill=STROKE if filled else FILL, stroke=STROKE,
           stroke_width=1)


def _compensate(group: etree._Element, cx: float, cy: float, r: float, filled: bool) -> None:
    _rewind(group, cx, cy, r * 0.5, filled)


def _terminate(group: etree._Element, cx: float, cy: float, r: float, _filled: bool) -> None:
    el(group, "circle", class_="icon", cx=cx, cy=cy, r=r * 0.55, fill=STROKE, stroke=STROKE)


def _link(group: etree._Element, cx: float, cy: float, r: float, filled: bool) -> None:
    s = r * 0.5
    pts = [(cx - s, cy - s * 0.3), (cx + s * 0.2, cy - s * 0.3), (cx + s * 0.2, cy - s * 0.7), (cx + s, cy),
           (cx + s * 0.2, cy + s * 0.7), (cx + s * 0.2, cy + s * 0.3), (cx - s, cy + s * 0.3)]
    el(group, "polygon", class_="icon", points=points(pts), fill=STROKE if filled else FILL, stroke=STROKE,
       stroke_width=1)


def _cancel(group: etree._Element, cx: float, cy: float, r: float, filled: bool) -> None:
    s = r * 0.45
    for (x1, y1, x2, y2) in ((cx - s, cy - s, cx + s, cy + s), (cx - s, cy + s, cx + s, cy - s)):
        el(group, "line", class_="icon", x1=x1, y1=y1, x2=x2, y2=y2, stroke=STROKE, stroke_width=3)


def _pentagon(group: etree._Element, cx: float, cy: float, s: float, filled: bool) -> None:
    pts = [(cx + s * math.cos(math.radians(-90 + i * 72)), cy + s * math.sin(math.radians(-90 + i * 72)))
           for i in range(5)]
    el(group, "polygon", class_="icon", points=points(pts), fill=STROKE if filled else FILL, stroke=STROKE,
       stroke_width=1.2)


_EVENT_MARKERS: dict[str, Callable[[etree._Element, float, float, float, bool], None]] = {
    "timer": _timer, "message": _message, "error": _error, "signal": _signal, "escalation": _escalation,
    "conditional": _conditional, "compensate": _compensate, "terminate": _terminate, "link": _link,
    "cancel": _cancel,
}


# --- gateways -----------------------------------------------------------------------------------------------------

def _gateway(group: etree._Element, shape: Shape) -> None:
    b = shape.bounds
    cx, cy = b.cx, b.cy
    diamond = [(cx, b.y), (b.right, cy), (cx, b.bottom), (b.x, cy)]
    el(group, "polygon", class_="body", points=points(diamond), fill=FILL, stroke=STROKE, stroke_width=1.5)
    s = min(b.width, b.height) * 0.22
    if shape.type == "exclusiveGateway" and shape.marker_visible:
        for (x1, y1, x2, y2) in ((cx - s, cy - s, cx + s, cy + s), (cx - s, cy + s, cx + s, cy - s)):
            el(group, "line", class_="icon", x1=x1, y1=y1, x2=x2, y2=y2, stroke=STROKE, stroke_width=3.5)
    elif shape.type == "parallelGateway":
        s *= 1.25
        el(group, "line", class_="icon", x1=cx, y1=cy - s, x2=cx, y2=cy + s, stroke=STROKE, stroke_width=3.5)
        el(group, "line", class_="icon", x1=cx - s, y1=cy, x2=cx + s, y2=cy, stroke=STROKE, stroke_width=3.5)
    elif shape.type == "inclusiveGateway":
        el(group, "circle", class_="icon", cx=cx, cy=cy, r=s * 1.15, fill="none", stroke=STROKE, stroke_width=2.5)
    elif shape.type == "eventBasedGateway":
        el(group, "circle", class_="icon", cx=cx, cy=cy, r=s * 1.2, fill="none", stroke=STROKE, stroke_width=1)
        el(group, "circle", class_="icon", cx=cx, cy=cy, r=s * 0.95, fill="none", stroke=STROKE, stroke_width=1)
        _pentagon(group, cx, cy, s * 0.6, False)
    elif shape.type == "complexGateway":
        s *= 1.2
        for angle in (0, 45, 90, 135):
            a = math.radians(angle)
            el(group, "line", class_="icon", x1=cx - math.cos(a) * s, y1=cy - math.sin(a) * s,
               x2=cx + math.cos(a) * s, y2=cy + math.sin(a) * s, stroke=STROKE, stroke_width=3)


# --- activities ---------------------------------------------------------------------------------------------------

def _activity(group: etree._Element, shape: Shape) -> None:
    b = shape.bounds
    kind = shape.type
    is_sub = kind in SUBPROCESS_TYPES
    expanded = bool(shape.expanded) and (is_sub or kind == "callActivity")
    stroke_width = 4 if kind == "callActivity" else 1.5
    dash = "2 3" if (is_sub and shape.triggered_by_event) else None
    el(group, "rect", class_="body", x=b.x, y=b.y, width=b.width, height=b.height, rx=10, ry=10, fill=FILL,
       fill_opacity=0.85 if expanded else None, stroke=STROKE, stroke_width=stroke_width, stroke_dasharray=dash)
    if kind == "transaction":
        el(group, "rect", class_="body-inner", x=b.x + 3, y=b.y + 3, width=max(b.width - 6, 0),
           height=max(b.height - 6, 0), rx=8, ry=8, fill="none", stroke=STROKE, stroke_width=1)
    if expanded:
        if shape.name:
            text_lines(group, wrap(shape.name, max(b.width - 20, 30), max_lines=2), b.x + 8, b.y + 3,
                       anchor="start")
    else:
        _icon(group, kind, b)
        if shape.name:
            top_pad = 16 if kind in _TASK_ICONS else 4
            width = max(b.width - 12, 20)
            max_lines = max(int((b.height - top_pad - 14) // (FONT_SIZE * LINE_HEIGHT)), 1)
            lines = wrap(shape.name, width, max_lines=max_lines)
            block = len(lines) * FONT_SIZE * LINE_HEIGHT
            top = b.y + top_pad / 2 + (b.height - block) / 2 - 2
            text_lines(group, lines, b.cx, top)
    _activity_markers(group, shape, collapsed=(is_sub or kind == "callActivity") and not expanded)


def _activity_markers(group: etree._Element, shape: Shape, *, collapsed: bool) -> None:
    b = shape.bounds
    markers: list[Callable[[etree._Element, float, float], None]] = []
    if shape.loop == "standard":
        markers.append(_loop_marker)
    elif shape.loop == "parallel":
        markers.append(lambda g, x, y: _bars(g, x, y, vertical=True))
    elif shape.loop == "sequential":
        markers.append(lambda g, x, y: _bars(g, x, y, vertical=False))
    if shape.compensation:
        markers.append(lambda g, x, y: _rewind(g, x + 6, y + 6, 6, False))
    if collapsed:
        markers.append(_plus_marker)
    if shape.type == "adHocSubProcess":
        markers.append(_tilde_marker)
    size, gap = 12, 4
    total = len(markers) * size + (len(markers) - 1) * gap
    x = b.cx - total / 2
    y = b.bottom - size - 4
    for draw in markers:
        draw(group, x, y)
        x += size + gap


def _loop_marker(group: etree._Element, x: float, y: float) -> None:
    el(group, "path", class_="icon", d=f"M {x + 3:.1f} {y + 10:.1f} A 5 5 0 1 1 {x + 9:.1f} {y + 10:.1f}",
       fill="none", stroke=STROKE, stroke_width=1.5)
    el(group, "polyline", class_="icon", points=points([(x + 1, y + 8), (x + 3, y + 10.5), (x + 6, y + 9)]),
       fill="none", stroke=STROKE, stroke_width=1.5)


def _bars(group: etree._Element, x: float, y: float, *, vertical: bool) -> None:
    for i in range(3):
        if vertical:
            el(group, "rect", class_="icon", x=x + i * 4.5, y=y, width=2.2, height=12, fill=STROKE)
        else:
            el(group, "rect", class_="icon", x=x, y=y + i * 4.5, width=12, height=2.2, fill=STROKE)


def _plus_marker(group: etree._Element, x: float, y: float) -> None:
    el(group, "rect", class_="icon", x=x, y=y, width=12, height=12, fill=FILL, stroke=STROKE, stroke_width=1)
    el(group, "line", class_="icon", x1=x + 6, y1=y + 2.5, x2=x + 6, y2=y + 9.5, stroke=STROKE, stroke_width=1.5)
    el(group, "line", class_="icon", x1=x + 2.5, y1=y + 6, x2=x + 9.5, y2=y + 6, stroke=STROKE, stroke_width=1.5)


def _tilde_marker(group: etree._Element, x: float, y: float) -> None:
    el(group, "path", class_="icon", d=f"M {x:.1f} {y + 7:.1f} q 3 -5 6 0 t 6 0", fill="none", stroke=STROKE,
       stroke_width=1.5)


def _user_icon(group: etree._Element, x: float, y: float) -> None:
    el(group, "circle", class_="icon", cx=x + 8, cy=y + 5, r=3.5, fill=FILL, stroke=STROKE, stroke_width=1.2)
    el(group, "path", class_="icon", d=f"M {x + 1:.1f} {y + 16:.1f} q 0 -7 7 -7 q 7 0 7 7 z", fill=FILL,
       stroke=STROKE, stroke_width=1.2)


def _service_icon(group: etree._Element, x: float, y: float) -> None:
    cx, cy = x + 8, y + 8
    pts = []
    for i in range(16):
        radius = 7.5 if i % 2 == 0 else 5.5
        a = math.radians(i * 22.5)
        pts.append((cx + math.cos(a) * radius, cy + math.sin(a) * radius))
    el(group, "polygon", class_="icon", points=points(pts), fill=FILL, stroke=STROKE, stroke_width=1.2)
    el(group, "circle", class_="icon", cx=cx, cy=cy, r=2.5, fill=FILL, stroke=STROKE, stroke_width=1.2)


def _script_icon(group: etree._Element, x: float, y: float) -> None:
    el(group, "path", class_="icon", d=f"M {x + 3:.1f} {y + 1:.1f} h 11 q -3 4 0 7 q 3 4 0 7 h -11 q 3 -3 0 -7 "
                                       f"q -3 -4 0 -7 z", fill=FILL, stroke=STROKE, stroke_width=1.1)
    for dy in (4.5, 8, 11.5):
        el(group, "line", class_="icon", x1=x + 5.5, y1=y + dy, x2=x + 11.5, y2=y + dy, stroke=STROKE,
           stroke_width=0.9)


def _manual_icon(group: etree._Element, x: float, y: float) -> None:
    el(group, "path", class_="icon", d=f"M {x + 1:.1f} {y + 7:.1f} h 8 v -2 h 5 v 2.5 h -4 h 5 v 2.5 h -5 h 4.5 "
                                       f"v 2.5 h -4.5 h 3.5 v 2.5 h -12.5 z", fill=FILL, stroke=STROKE,
       stroke_width=1.1)


def _rule_icon(group: etree._Element, x: float, y: float) -> None:
    el(group, "rect", class_="icon", x=x + 1, y=y + 2, width=15, height=12, fill=FILL, stroke=STROKE,
       stroke_width=1.1)
    el(group, "rect", class_="icon", x=x + 1, y=y + 2, width=15, height=3.5, fill=STROKE)
    el(group, "line", class_="icon", x1=x + 1, y1=y + 9.5, x2=x + 16, y2=y + 9.5, stroke=STROKE, stroke_width=1)
    el(group, "line", class_="icon", x1=x + 6, y1=y + 5.5, x2=x + 6, y2=y + 14, stroke=STROKE, stroke_width=1)


_TASK_ICONS: dict[str, Callable[[etree._Element, float, float], None]] = {
    "userTask": _user_icon,
    "serviceTask": _service_icon,
    "scriptTask": _script_icon,
    "manualTask": _manual_icon,
    "businessRuleTask": _rule_icon,
    "sendTask": lambda g, x, y: _envelope(g, x + 9, y + 8, 15, 10, True),
    "receiveTask": lambda g, x, y: _envelope(g, x + 9, y + 8, 15, 10, False),
}


def _icon(group: etree._Element, kind: str, b: Bounds) -> None:
    drawer = _TASK_ICONS.get(kind)
    if drawer:
        drawer(group, b.x + 6, b.y + 5)


# --- containers, data and artifacts ------------------------------------------------------------------------------

def _container(group: etree._Element, shape: Shape, *, band: bool, lane: bool = False) -> None:
    b = shape.bounds
    el(group, "rect", class_="body container", x=b.x, y=b.y, width=b.width, height=b.height,
       fill="none" if lane else FILL, stroke=STROKE, stroke_width=1 if lane else 1.5)
    if not band or not shape.name:
        return
    if shape.horizontal:
        if not lane:
            el(group, "line", class_="body-inner", x1=b.x + 30, y1=b.y, x2=b.x + 30, y2=b.bottom, stroke=STROKE,
               stroke_width=1.5)
        cx, cy = b.x + 15, b.cy
        lines = wrap(shape.name, max(b.height - 10, 20), max_lines=2)
        node = el(group, "text", class_="label container-label", x=cx, y=cy, font_size=FONT_SIZE,
                  text_anchor="middle", transform=f"rotate(-90 {_fmt(cx)} {_fmt(cy)})")
        for i, line in enumerate(lines):
            span = el(node, "tspan", x=cx, y=cy + 4 + (i - (len(lines) - 1) / 2) * FONT_SIZE * LINE_HEIGHT)
            span.text = line
    else:
        if not lane:
            el(group, "line", class_="body-inner", x1=b.x, y1=b.y + 30, x2=b.right, y2=b.y + 30, stroke=STROKE,
               stroke_width=1.5)
        text_lines(group, wrap(shape.name, max(b.width - 10, 20), max_lines=1), b.cx, b.y + 6)


def _data_object(group: etree._Element, shape: Shape) -> None:
    b = shape.bounds
    fold = min(b.width, b.height) * 0.3
    pts = [(b.x, b.y), (b.right - fold, b.y), (b.right, b.y + fold), (b.right, b.bottom), (b.x, b.bottom)]
    el(group, "polygon", class_="body", points=points(pts), fill=FILL, stroke=STROKE, stroke_width=1.5)
    el(group, "polyline", class_="icon", points=points([(b.right - fold, b.y), (b.right - fold, b.y + fold),
                                                        (b.right, b.y + fold)]), fill="none", stroke=STROKE,
       stroke_width=1.2)
    if shape.type in ("dataInput", "dataOutput"):
        x, y = b.x + 4, b.y + 4
        pts = [(x, y + 3), (x + 6, y + 3), (x + 6, y), (x + 11, y + 5), (x + 6, y + 10), (x + 6, y + 7), (x, y + 7)]
        el(group, "polygon", class_="icon", points=points(pts), fill=STROKE if shape.type == "dataOutput" else FILL,
           stroke=STROKE, stroke_width=1)
    if shape.is_collection:
        _bars(group, b.cx - 6, b.bottom - 14, vertical=True)


def _data_store(group: etree._Element, shape: Shape) -> None:
    b = shape.bounds
    ry = min(b.height * 0.15, 8)
    d = (f"M {b.x:.1f} {b.y + ry:.1f} A {b.width / 2:.1f} {ry:.1f} 0 0 1 {b.right:.1f} {b.y + ry:.1f} "
         f"V {b.bottom - ry:.1f} A {b.width / 2:.1f} {ry:.1f} 0 0 1 {b.x:.1f} {b.bottom - ry:.1f} Z")
    el(group, "path", class_="body", d=d, fill=FILL, stroke=STROKE, stroke_width=1.5)
    for k in (1, 2, 3):
        y = b.y + ry * k
        el(group, "path", class_="icon", d=f"M {b.x:.1f} {y:.1f} A {b.width / 2:.1f} {ry:.1f} 0 0 0 {b.right:.1f} "
                                           f"{y:.1f}", fill="none", stroke=STROKE, stroke_width=1.2)


def _annotation(group: etree._Element, shape: Shape) -> None:
    b = shape.bounds
    el(group, "rect", class_="body-hit", x=b.x, y=b.y, width=b.width, height=b.height, fill="none",
       stroke="none")
    el(group, "path", class_="body", d=f"M {b.x + 10:.1f} {b.y:.1f} H {b.x:.1f} V {b.bottom:.1f} "
                                       f"H {b.x + 10:.1f}", fill="none", stroke=STROKE, stroke_width=1.2)
    if shape.name:
        lines = wrap(shape.name, max(b.width - 10, 20))
        text_lines(group, lines, b.x + 5, b.y + 2, anchor="start")


def _group(group: etree._Element, shape: Shape) -> None:
    b = shape.bounds
    el(group, "rect", class_="body", x=b.x, y=b.y, width=b.width, height=b.height, rx=10, ry=10, fill="none",
       stroke=STROKE, stroke_width=1.2, stroke_dasharray="8 3 1 3")
    if shape.name and shape.label is None:
        text_lines(group, wrap(shape.name, max(b.width - 10, 20), max_lines=1), b.cx, b.y + 2)
