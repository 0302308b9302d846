"""Automatic BPMN DI for generated processes: a left-to-right layered grid, recursive into subprocesses.

Columns are longest-path layers over forward flows (back-flows are marked and drawn above their row); a node
keeps its main predecessor's row when that cell is free, fork branches and boundary paths take the next free
rows below. Boundary events sit on their host's bottom edge. Edges are orthogonal. Good enough for any modeler
to open, read and then be edited by hand: the BPMN files, not this layout, are the source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.processgen.model import Container, Flow, Node

GAP_X = 48
GAP_Y = 44
PAD = 28
HEADER = 28
SIZES = {
    "start": (36, 36), "end": (36, 36), "catch_timer": (36, 36), "boundary": (36, 36),
    "user": (110, 80), "service": (110, 80), "script": (110, 80), "xor": (50, 50), "par": (50, 50),
}


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float
    expanded: bool = False
    marker: bool = False
    port: float | None = None  # where flows attach on the left and right sides (default: the middle)

    def shifted(self, dx: float, dy: float) -> Box:
        return Box(self.x + dx, self.y + dy, self.w, self.h, self.expanded, self.marker,
                   None if self.port is None else self.port + dy)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def py(self) -> float:
        return self.cy if self.port is None else self.port


@dataclass
class Layout:
    shapes: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    width: float = 0
    height: float = 0
    port: float = 0  # the y of the first row's flow line, so a subprocess's flows meet it level

    def shifted(self, dx: float, dy: float) -> Layout:
        return Layout({k: b.shifted(dx, dy) for k, b in self.shapes.items()},
                      {k: [(x + dx, y + dy) for x, y in pts] for k, pts in self.edges.items()},
                      self.width, self.height, self.port + dy)


class LayoutError(ValueError):
    pass


def layout(container: Container) -> Layout:
    """Lay out a container at origin (0, 0); subprocess bodies are laid out first and placed inside."""
    inner: dict[str, Layout] = {}
    sizes: dict[str, tuple[float, float]] = {}
    ports: dict[str, float] = {}  # distance from a node's top to its flow line
    for node in container.nodes.values():
        if node.kind == "sub" and node.body is not None:
            body = layout(node.body)
            inner[node.id] = body
            sizes[node.id] = (body.width + 2 * PAD, body.height + HEADER + PAD)
            ports[node.id] = HEADER + body.port
        else:
            sizes[node.id] = SIZES[node.kind]
            ports[node.id] = SIZES[node.kind][1] / 2
    placed = [n for n in container.nodes.values() if n.kind != "boundary"]
    anchor = {n.id: (n.host if n.kind == "boundary" and n.host else n.id) for n in container.nodes.values()}
    columns = _columns(container, placed, anchor)
    rows = _rows(container, placed, anchor, columns)

    n_cols = max(columns.values()) + 1 if columns else 0
    n_rows = max(rows.values()) + 1 if rows else 0
    col_w = [0.0] * n_cols
    above = [0.0] * n_rows  # per row: the tallest part above the flow line, and below it
    below = [0.0] * n_rows
    for node in placed:
        w, h = sizes[node.id]
        r = rows[node.id]
        col_w[columns[node.id]] = max(col_w[columns[node.id]], w)
        above[r] = max(above[r], ports[node.id])
        below[r] = max(below[r], h - ports[node.id] + (22 if container.boundaries_of(node.id) else 0))
    row_h = [a + b for a, b in zip(above, below)]
    col_x = _offsets(col_w, GAP_X, PAD)
    row_y = _offsets(row_h, GAP_Y, PAD + 12)  # room above the first row for back-flows

    result = Layout()
    for node in placed:
        c, r = columns[node.id], rows[node.id]
        w, h = sizes[node.id]
        line = row_y[r] + above[r]
        box = Box(col_x[c] + (col_w[c] - w) / 2, line - ports[node.id], w, h,
                  expanded=node.kind == "sub", marker=node.kind == "xor",
                  port=line if node.kind == "sub" else None)
        result.shapes[node.id] = box
        if node.id in inner:
            body = inner[node.id].shifted(box.x + PAD, box.y + HEADER)
            result.shapes.update(body.shapes)
            result.edges.update(body.edges)
    result.port = row_y[0] + above[0] if n_rows else PAD
    for node in placed:
        for index, boundary in enumerate(container.boundaries_of(node.id)):
            host = result.shapes[node.id]
            result.shapes[boundary.id] = Box(host.x + host.w - 30 - 46 * index, host.y + host.h - 18, 36, 36)

    grid = _Grid(columns, rows, col_x, col_w, row_y, row_h)
    for flow in container.flows:
        source = container.nodes[flow.source]
        target = container.nodes[flow.target]
        result.edges[flow.id] = _route(result.shapes[source.id], result.shapes[target.id], source, target,
                                       flow.back, grid, anchor, result.shapes)
    result.width = (col_x[-1] + col_w[-1] + PAD) if n_cols else 2 * PAD
    result.height = (row_y[-1] + row_h[-1] + PAD) if n_rows else 2 * PAD
    return result


def _offsets(sizes: list[float], gap: float, start: float) -> list[float]:
    offsets, position = [], start
    for size in sizes:
        offsets.append(position)
        position += size + gap
    return offsets


def _forward(container: Container, anchor: dict[str, str]) -> list[tuple[str, str, int]]:
    """(source anchor, target, order) for every forward flow; boundary flows start at their host."""
    return [(anchor[f.source], f.target, i) for i, f in enumerate(container.flows) if not f.back]


def _columns(container: Container, placed: list[Node], anchor: dict[str, str]) -> dict[str, int]:
    edges = _forward(container, anchor)
    column = {n.id: 0 for n in placed}
    for _ in range(len(placed) + 1):
        changed = False
        for source, target, _order in edges:
            wanted = column[source] + 1
            if column[target] < wanted:
                column[target] = wanted
                changed = True
        if not changed:
            break
    else:
        raise LayoutError("cycle among forward flows: mark loops as back=True")
    return column


def _rows(container: Container, placed: list[Node], anchor: dict[str, str],
          columns: dict[str, int]) -> dict[str, int]:
    occupied: set[tuple[int, int]] = set()
    rows: dict[str, int] = {}
    order = sorted(placed, key=lambda n: (columns[n.id], list(container.nodes).index(n.id)))
    forward = [f for f in container.flows if not f.back]
    reach = _reach(container, placed, anchor, columns)
    siblings_of: dict[str, list[Flow]] = {}
    for flow in forward:
        siblings_of.setdefault(flow.source, []).append(flow)
    for source, flows in siblings_of.items():
        # The branch that goes furthest stays on the source's row: the main path reads as a straight line.
        # On a tie the direct flow wins and the optional step goes below (a skip reads as a straight line).
        flows.sort(key=lambda f: (f.side, -reach[f.target], -columns.get(f.target, 0)))
    for node in order:
        incoming = [f for f in forward if f.target == node.id and anchor[f.source] in rows]
        desired = 0
        if incoming:
            candidates = []
            for flow in incoming:
                source = container.nodes[flow.source]
                base = rows[anchor[flow.source]]
                if source.kind == "boundary":
                    host_boundaries = container.boundaries_of(source.host or "")
                    candidates.append(base + 1 + host_boundaries.index(source))
                else:
                    candidates.append(base + siblings_of[flow.source].index(flow))
            desired = min(candidates)
        row = desired
        while (columns[node.id], row) in occupied:
            row += 1
        rows[node.id] = row
        occupied.add((columns[node.id], row))
    return rows


def _reach(container: Container, placed: list[Node], anchor: dict[str, str],
           columns: dict[str, int]) -> dict[str, int]:
    """The furthest column each node leads to over forward flows."""
    reach = {n.id: columns[n.id] for n in placed}
    edges = _forward(container, anchor)
    for _ in range(len(placed) + 1):
        changed = False
        for source, target, _order in edges:
            if reach[target] > reach[source]:
                reach[source] = reach[target]
                changed = True
        if not changed:
            break
    for node in container.nodes.values():
        reach.setdefault(node.id, reach.get(anchor[node.id], 0))
    return reach


@dataclass
class _Grid:
    columns: dict[str, int]
    rows: dict[str, int]
    col_x: list[float]
    col_w: list[float]
    row_y: list[float]
    row_h: list[float]

    def busy(self, row: int, first_col: int, last_col: int) -> bool:
        return any(r == row and first_col <= self.columns[n] <= last_col for n, r in self.rows.items())

    def gap_before(self, column: int) -> float:
        return self.col_x[column] - GAP_X / 2

    def gap_after(self, column: int) -> float:
        return self.col_x[column] + self.col_w[column] + GAP_X / 2

    def lane_above(self, row: int, first_col: int, last_col: int, shapes: dict[str, Box]) -> float:
        """Just above the nodes of `row` between the columns (a row's nodes may start lower than its top)."""
        tops = [shapes[n].y for n, r in self.rows.items()
                if r == row and first_col <= self.columns[n] <= last_col and n in shapes]
        return (min(tops) if tops else self.row_y[row]) - 16


def _route(s: Box, t: Box, source: Node, target: Node, back: bool, grid: _Grid,
           anchor: dict[str, str], shapes: dict[str, Box]) -> list[tuple[float, float]]:
    if back:
        first, last = sorted((grid.columns[anchor[source.id]], grid.columns[target.id]))
        lane = grid.lane_above(min(grid.rows[anchor[source.id]], grid.rows[target.id]), first, last, shapes)
        return [(s.cx, s.y), (s.cx, lane), (t.cx, lane), (t.cx, t.y)]
    if source.kind == "boundary":
        return [(s.cx, s.y + s.h), (s.cx, t.py), (t.x, t.py)]
    s_col, t_col = grid.columns[anchor[source.id]], grid.columns[target.id]
    s_row, t_row = grid.rows[anchor[source.id]], grid.rows[target.id]
    if abs(s.py - t.py) < 1:
        if t_col - s_col > 1 and grid.busy(s_row, s_col + 1, t_col - 1):
            lane = grid.lane_above(s_row, s_col, t_col, shapes)
            return [(s.cx, s.y), (s.cx, lane), (t.cx, lane), (t.cx, t.y)]
        return [(s.x + s.w, s.py), (t.x, t.py)]
    if source.kind in ("xor", "par"):
        start = (s.cx, s.y + s.h) if t.py > s.py else (s.cx, s.y)
        if t_col - s_col > 1 and grid.busy(t_row, s_col + 1, t_col - 1):
            x = grid.gap_before(t_col)
            return [(s.x + s.w, s.py), (x, s.py), (x, t.py), (t.x, t.py)]
        return [start, (s.cx, t.py), (t.x, t.py)]
    if target.kind in ("xor", "par"):
        end = (t.cx, t.y + t.h) if s.py > t.py else (t.cx, t.y)
        if t_col - s_col > 1 and grid.busy(s_row, s_col + 1, t_col - 1):
            x = grid.gap_after(s_col)
            return [(s.x + s.w, s.py), (x, s.py), (x, t.py), (t.x, t.py)]
        return [(s.x + s.w, s.py), (t.cx, s.py), end]
    if t_col - s_col > 1 and grid.busy(s_row, s_col + 1, t_col - 1):
        x = grid.gap_after(s_col)
    else:
        x = grid.gap_before(t_col)
    return [(s.x + s.w, s.py), (x, s.py), (x, t.py), (t.x, t.py)]
