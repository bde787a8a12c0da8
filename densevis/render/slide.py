"""A layout re-laid for a 16:9 slide: long strips folded into rows, low arcs raised.

A transform of layout data (ids, labels, roles and states stay as they are): the view is cut
into groups that move as a whole (the dense-layer view: its inputs with the concat, then each
op; the full network: one row per dense block), the groups are placed in rows whose count
brings the picture closest to 16:9, and arrows between groups are re-routed (straight within
a row, down into the gap and back at a row's end). A view still wider than 16:9 (a dense
block, whose links cannot be cut) gets taller arcs; one still taller (the full network's
tall arcs over its largest block) gets flatter ones. Top-to-bottom views are folded into
columns the same way. Never imports torch or streamlit.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace

from densevis.render.layout import Edge, Layout, Node, Point, polyline

SLIDE_ASPECT = 16 / 9
ARC_ROLES = ("link", "output-link", "bundle")  # edges drawn as arcs above a line of layers
MAX_STRETCH = 6.0  # arcs grow at most this much taller
MIN_STRETCH = 0.4  # and flatten at most to this much of their height (still arcs)
_GAP = (48.0, 56.0)  # between groups in a row, between rows (points)
_TEXT_ROOM = 90.0  # points: the title above the drawing and the key below it
_TITLE_FONT = 19.0  # points, the graph label's size (theme font + 5)


@dataclass(frozen=True)
class _Group:
    """Nodes that move together, with the edges that stay inside them."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def bounds(self, stretch: float = 1.0) -> tuple[float, float, float, float]:
        xs = [n.x - n.w / 2 for n in self.nodes] + [n.x + n.w / 2 for n in self.nodes]
        ys = [n.y - n.h / 2 for n in self.nodes] + [n.y + n.h / 2 for n in self.nodes]
        for edge in self.edges:
            points = _stretched(edge, stretch)
            xs += [p[0] for p in points]
            ys += [p[1] for p in points]
        return min(xs), min(ys), max(xs), max(ys)


def _transpose(layout: Layout) -> Layout:
    nodes = tuple(replace(n, x=n.y, y=n.x, w=n.h, h=n.w) for n in layout.nodes)
    edges = tuple(replace(e, points=tuple((y, x) for x, y in e.points)) for e in layout.edges)
    return replace(layout, nodes=nodes, edges=edges)


def _stretched(edge: Edge, stretch: float) -> tuple[Point, ...]:
    """An arc raised ``stretch`` times above the line it starts on."""
    if stretch == 1.0 or edge.role not in ARC_ROLES:
        return edge.points
    base = edge.points[0][1]
    return tuple((x, base + (y - base) * stretch) for x, y in edge.points)


def _node_groups(layout: Layout) -> list[list[Node]]:
    """The parts that may move apart, in reading order (left to right frame)."""
    if layout.view == "layer":
        ops = sorted((n for n in layout.nodes if n.role != "source"), key=lambda n: n.x)
        sources = [n for n in layout.nodes if n.role == "source"]
        return [[*sources, ops[0]], *([n] for n in ops[1:])]
    if layout.name.startswith("compare"):  # comparison.side_by_side: ids "c1/...", "c2/..."
        columns: dict[str, list[Node]] = {}
        for node in layout.nodes:
            columns.setdefault(node.id.split("/", 1)[0], []).append(node)
        return list(columns.values())
    if layout.view == "full":
        rows: dict[float, list[Node]] = {}
        for node in layout.nodes:
            rows.setdefault(round(node.y, 1), []).append(node)
        return [rows[y] for y in sorted(rows)]
    return [list(layout.nodes)]


def _groups(layout: Layout) -> tuple[list[_Group], list[Edge]]:
    """(groups with their inner edges, the edges between groups)."""
    parts = _node_groups(layout)
    owner = {node.id: index for index, part in enumerate(parts) for node in part}
    inner: list[list[Edge]] = [[] for _ in parts]
    between = []
    for edge in layout.edges:
        if owner[edge.source] == owner[edge.target]:
            inner[owner[edge.source]].append(edge)
        else:
            between.append(edge)
    groups = [_Group(tuple(part), tuple(edges)) for part, edges in zip(parts, inner, strict=True)]
    return groups, between


def _rows(sizes: Sequence[tuple[float, float]], per_row: int) -> list[list[int]]:
    return [list(range(i, min(i + per_row, len(sizes)))) for i in range(0, len(sizes), per_row)]


def _extent(sizes: Sequence[tuple[float, float]], per_row: int) -> tuple[float, float]:
    """(width, height) of the groups placed ``per_row`` to a row."""
    rows = _rows(sizes, per_row)
    width = max(sum(sizes[i][0] for i in row) + _GAP[0] * (len(row) - 1) for row in rows)
    height = sum(max(sizes[i][1] for i in row) for row in rows) + _GAP[1] * (len(rows) - 1)
    return width, height + _TEXT_ROOM


def _error(extent: tuple[float, float], target: float) -> float:
    return abs(math.log(extent[0] / extent[1] / target))


def _best_per_row(sizes: Sequence[tuple[float, float]], target: float) -> int:
    return min(range(1, len(sizes) + 1), key=lambda n: (_error(_extent(sizes, n), target), -n))


def _sizes(groups: Sequence[_Group], stretch: float) -> list[tuple[float, float]]:
    return [(b[2] - b[0], b[3] - b[1]) for b in (g.bounds(stretch) for g in groups)]


def _best_stretch(groups: Sequence[_Group], per_row: int, target: float) -> float:
    """How much taller (> 1) or flatter (< 1) the arcs must be for the picture to be
    ``target`` wide, within MIN_STRETCH .. MAX_STRETCH (1 when there are no arcs)."""
    if not any(e.role in ARC_ROLES for g in groups for e in g.edges):
        return 1.0
    width, height = _extent(_sizes(groups, 1.0), per_row)
    low, high = (1.0, MAX_STRETCH) if width / height > target else (MIN_STRETCH, 1.0)
    for _ in range(30):  # the picture narrows as the arcs grow: bisect on its aspect
        middle = (low + high) / 2
        width, height = _extent(_sizes(groups, middle), per_row)
        low, high = (middle, high) if width / height > target else (low, middle)
    return low


def _place(groups: Sequence[_Group], per_row: int, stretch: float
           ) -> tuple[list[Node], list[Edge], dict[str, int], list[float]]:
    """Move every group to its place: (nodes, inner edges, row of each node id, row bottoms)."""
    sizes = _sizes(groups, stretch)
    nodes: list[Node] = []
    edges: list[Edge] = []
    row_of: dict[str, int] = {}
    bottoms, top = [], 0.0
    for number, row in enumerate(_rows(sizes, per_row)):
        height, left = max(sizes[i][1] for i in row), 0.0
        for index in row:
            x0, y0, _, _ = groups[index].bounds(stretch)
            dx, dy = left - x0, top + (height - sizes[index][1]) / 2 - y0
            for node in groups[index].nodes:
                nodes.append(replace(node, x=node.x + dx, y=node.y + dy))
                row_of[node.id] = number
            edges += [replace(e, points=tuple((x + dx, y + dy) for x, y in _stretched(e, stretch)))
                      for e in groups[index].edges]
            left += sizes[index][0] + _GAP[0]
        top += height
        bottoms.append(top)
        top += _GAP[1]
    return nodes, edges, row_of, bottoms


def _route(edge: Edge, nodes: dict[str, Node], row_of: dict[str, int],
           bottoms: Sequence[float]) -> Edge:
    """An arrow between two groups: an elbow within a row, down and back across rows."""
    a, b = nodes[edge.source], nodes[edge.target]
    if row_of[a.id] == row_of[b.id]:
        middle = (a.x + a.w / 2 + b.x - b.w / 2) / 2
        points = [(a.x + a.w / 2, a.y), (middle, a.y), (middle, b.y), (b.x - b.w / 2, b.y)]
        if a.y == b.y:
            points = [points[0], points[-1]]
    else:
        gap = bottoms[row_of[a.id]] + _GAP[1] / 2
        points = [(a.x, a.y + a.h / 2), (a.x, gap), (b.x, gap), (b.x, b.y - b.h / 2)]
    return replace(edge, points=polyline(points))


def _wrap_text(text: str, width: float, font: float) -> str:
    """Text broken into lines no wider than ``width`` points (0.6 em per character)."""
    columns = max(20, int(width / (font * 0.6)))
    return "\n".join(textwrap.fill(line, columns) for line in text.splitlines())


def fit_slide(layout: Layout, aspect: float = SLIDE_ASPECT) -> Layout:
    """The layout re-laid to fill a slide of ``aspect`` (width / height): the same nodes and
    edges, with their ids, text, roles and highlight states; only positions change."""
    transposed = layout.direction == "TB"
    frame = _transpose(layout) if transposed else layout
    target = 1 / aspect if transposed else aspect
    groups, between = _groups(frame)
    per_row = _best_per_row(_sizes(groups, 1.0), target)
    stretch = _best_stretch(groups, per_row, target)
    nodes, edges, row_of, bottoms = _place(groups, per_row, stretch)
    by_id = {node.id: node for node in nodes}
    edges += [_route(edge, by_id, row_of, bottoms) for edge in between]
    order = {node.id: index for index, node in enumerate(layout.nodes)}
    drawn = {(e.source, e.target, e.role): index for index, e in enumerate(layout.edges)}
    placed = replace(frame, nodes=tuple(sorted(nodes, key=lambda n: order[n.id])),
                     edges=tuple(sorted(edges, key=lambda e: drawn[e.source, e.target, e.role])))
    result = _transpose(placed) if transposed else placed
    left, _, right, _ = result.bounds()
    return replace(result, key=_wrap_text(result.key, right - left, result.font),
                   title=_wrap_text(result.title, right - left, _TITLE_FONT))

