"""Layout -> inline SVG for the app: every node carries its layout id, every node and edge its
role as a class and what the browser needs as data attributes (tooltip text, block,
dense-layer number, a link's source and target as node indices), so the page's script can
highlight, drill down and zoom without asking Python. Kept small (a 100-layer block has
5,151 links): short path data, strokes as classes. Also the property rows of a dense
layer's panel. Never imports torch or streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from densevis.errors import DenseVisError
from densevis.records import Op, Trace
from densevis.render.graphviz import edge_stroke, node_fill, node_outline
from densevis.render.layout import Edge, Layout, Node, Point, dense_layer_ops, metric_text
from densevis.render.theme import Theme, get_theme
from densevis.weight_stats import TensorStats, WeightStats

MAX_SVG_BYTES = 12_000_000  # a view whose SVG would be larger is refused before drawing
_MARGIN = 24.0
_WHOLE = re.compile(r"\.0(?![0-9])")  # the '.0' of a whole number
_TIP = re.compile(r"(.+) → (.+): (.+)")  # an edge's tooltip: source → target: what it carries
_ARROWHEAD = ('<defs><marker id="dv-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
              'markerWidth="7" markerHeight="7" markerUnits="userSpaceOnUse" '
              'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="context-stroke"/>'
              "</marker></defs>")


def estimated_bytes(layout: Layout) -> int:
    """About how many bytes ``to_svg`` writes (measured: ~7 per path point, ~60 per edge
    besides, ~60 per label character plus ~420 per node)."""
    edges = sum(7 * len(edge.points) + 60 + len(edge.tooltip) for edge in layout.edges)
    nodes = sum(420 + len(node.tooltip) + 60 * len(node.lines) for node in layout.nodes)
    return edges + nodes


def _path(points: tuple[Point, ...]) -> str:
    """Path data in few bytes: tenths of a point, each curve relative to where it starts, and
    's' where a curve's first control point mirrors the previous curve's last (as on every
    arc); '.0' and spaces before minus signs left out."""
    (x, y), *rest = [(round(x, 1), round(y, 1)) for x, y in points]  # moves add up exactly
    data, mirror = [f"M{x:.1f} {y:.1f}"], None
    for i in range(0, len(rest) - 2, 3):
        (ax, ay), (bx, by), (ex, ey) = rest[i], rest[i + 1], rest[i + 2]
        if mirror and abs(mirror[0] - ax) < 0.1 and abs(mirror[1] - ay) < 0.1:
            data.append(f"s{bx - x:.1f} {by - y:.1f} {ex - x:.1f} {ey - y:.1f}")
        else:
            data.append(f"c{ax - x:.1f} {ay - y:.1f} {bx - x:.1f} {by - y:.1f} "
                        f"{ex - x:.1f} {ey - y:.1f}")
        mirror, x, y = (2 * ex - bx, 2 * ey - by), ex, ey
    return _WHOLE.sub("", "".join(data)).replace(" -", "-")


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def _node(layout: Layout, node: Node, theme: Theme, tips: _Tips) -> str:
    fill = node_fill(layout, node, theme)
    color, pen = node_outline(node, theme)
    text = theme.foreground if fill == "transparent" else theme.text_on(fill)
    sent, received = tips.sent.get(node.id), tips.received.get(node.id)
    data = "".join(f' data-{name}="{_attr(value)}"' for name, value in (
        ("block", node.block), ("position", node.position),
        ("from", sent and sent[0]), ("carries", sent and sent[1]), ("to", received))
        if value is not None)
    lines = "".join(
        f'<tspan x="{node.x:.1f}" dy="{0 if i == 0 else layout.font + 3:g}">{escape(line)}'
        "</tspan>" for i, line in enumerate(node.lines))
    top = node.y - (len(node.lines) - 1) * (layout.font + 3) / 2 + layout.font * 0.35
    classes = " ".join(filter(None, ("node", node.role, node.kind, node.state)))
    return (f'<g class="{classes}" id="{_attr(node.id)}" data-tip="{_attr(node.tooltip)}"'
            f'{data}><rect x="{node.x - node.w / 2:.1f}" y="{node.y - node.h / 2:.1f}" '
            f'width="{node.w:.1f}" height="{node.h:.1f}" rx="5" fill="{fill}" '
            f'stroke="{color}" stroke-width="{pen:g}"/><text y="{top:.1f}" fill="{text}">'
            f"{lines}</text></g>")


@dataclass(frozen=True)
class _Tips:
    """Edge tooltips 'A → B: C' split between their ends where every edge out of a node says
    the same A and C (kept on the source: data-from, data-carries) and every edge into a
    node the same B (on the target: data-to). Such an edge carries an empty data-tip and
    the browser builds its text on hover; any other keeps its text."""

    sent: dict[str, tuple[str, str]]  # source node id -> (A, C)
    received: dict[str, str]  # target node id -> B

    @classmethod
    def of(cls, edges: Sequence[Edge]) -> _Tips:
        sent: dict[str, tuple[str, str] | None] = {}
        received: dict[str, str | None] = {}
        for edge in edges:
            parts = _TIP.fullmatch(edge.tooltip)
            said, heard = ((parts[1], parts[3]), parts[2]) if parts else (None, None)
            if sent.setdefault(edge.source, said) != said:
                sent[edge.source] = None
            if received.setdefault(edge.target, heard) != heard:
                received[edge.target] = None
        return cls({k: v for k, v in sent.items() if v}, {k: v for k, v in received.items() if v})

    def built(self, edge: Edge) -> bool:
        """Whether the browser builds this edge's tooltip from its ends."""
        return edge.source in self.sent and edge.target in self.received


def _edges(layout: Layout, theme: Theme, tips: _Tips) -> tuple[str, str]:
    """(the edges' paths, the style rules of their strokes). A path names its ends by their
    index among the nodes (data-s, data-t) and its stroke by a class: one rule per colour
    and width instead of attributes on thousands of paths."""
    index = {node.id: i for i, node in enumerate(layout.nodes)}
    strokes: dict[tuple[str, float], str] = {}
    classes: dict[tuple[object, ...], str] = {}  # (role, state, source layer) -> class list
    paths = []
    for edge in layout.edges:
        look = (edge.role, edge.state, edge.source_layer)
        if look not in classes:
            stroke = strokes.setdefault(edge_stroke(edge, theme), f"e{len(strokes)}")
            classes[look] = " ".join(filter(None, ("edge", edge.role, edge.state, stroke)))
        # arcs enter a layer from above on its left half: only plain flow needs arrowheads
        arrow = ' marker-end="url(#dv-arrow)"' if edge.source_layer is None else ""
        tip = "" if not edge.tooltip else ' data-tip=""' if tips.built(edge) else (
            f' data-tip="{_attr(edge.tooltip)}"')
        paths.append(f'<path class="{classes[look]}" data-s="{index[edge.source]}" '
                     f'data-t="{index[edge.target]}"{tip} d="{_path(edge.points)}"{arrow}/>')
        if edge.label:
            x, y = edge.points[len(edge.points) // 2]
            paths.append(f'<text class="edge-label" x="{x:.1f}" y="{y - 5:.1f}" '
                         f'fill="{theme.muted}">{escape(edge.label)}</text>')
    rules = "".join(f".densevis-diagram .{name}{{stroke:{color};stroke-width:{pen:g}px}}"
                    for (color, pen), name in strokes.items())
    return "".join(paths), rules


def to_svg(layout: Layout, theme: str | Theme = "light") -> str:
    """The layout as an inline SVG element (units: points = CSS pixels at zoom 1)."""
    if estimated_bytes(layout) > MAX_SVG_BYTES:
        raise DenseVisError(
            f"this view would draw about {estimated_bytes(layout) / 1e6:.0f} MB of SVG, more "
            f"than the {MAX_SVG_BYTES / 1e6:.0f} MB the page shows; pick a smaller view")
    look = get_theme(theme)
    left, top, right, bottom = layout.bounds()
    width, height = right - left + 2 * _MARGIN, bottom - top + 2 * _MARGIN
    tips = _Tips.of(layout.edges)
    edges, rules = _edges(layout, look, tips)
    nodes = "".join(_node(layout, node, look, tips) for node in layout.nodes)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="densevis-diagram" '
            f'data-view="{layout.view}" data-font="{layout.font:g}" '
            f'width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="{left - _MARGIN:.1f} {top - _MARGIN:.1f} {width:.1f} {height:.1f}" '
            f'font-family="{look.font_family}, sans-serif" font-size="{layout.font:g}" '
            f'text-anchor="middle" style="--input:{look.input_fill};--consumer:'
            f'{look.consumer_fill};--focus:{look.highlight};--dim:{look.edge_dim}">'
            f"<style>{rules}</style>{_ARROWHEAD}"
            f'<g class="edges" fill="none">{edges}</g><g class="nodes">{nodes}</g></svg>')


def legend(layout: Layout, theme: str | Theme = "light") -> list[tuple[str, str]]:
    """The metric scale as (colour, value text) steps, low to high; empty when uncoloured."""
    if layout.metric is None or layout.metric_range is None:
        return []
    look = get_theme(theme)
    low, high = layout.metric_range
    return [(look.metric_color(step / 4), metric_text(layout.metric, low + (high - low) *
                                                      step / 4)) for step in range(5)]


# --------------------------------------------------------------------------- property panel


def weight_shapes(op: Op) -> str:
    """The shapes of an op's learned tensors, as torch stores them (groups = 1)."""
    if op.kind == "conv" and op.kernel:
        return f"weight {op.out_channels}×{op.in_channels}×{op.kernel[0]}×{op.kernel[1]}"
    if op.kind == "batchnorm":
        return f"weight, bias, running mean/var: {op.out_channels} each"
    if op.kind == "linear":
        return f"weight {op.out_channels}×{op.in_channels}, bias {op.out_channels}"
    return ""


def _pair(value: tuple[int, int] | None) -> str:
    return "" if value is None else f"{value[0]}×{value[1]}"


def layer_properties(trace: Trace, block: int, position: int,
                     stats: WeightStats | None = None) -> list[dict[str, object]]:
    """One row per op of dense layer H_position: what a Netron-style panel lists; with a
    checkpoint's ``stats``, each learned tensor's mean |W|, min and max ("stats")."""
    return [{"op": op.name.rsplit(".", 1)[-1], "kind": op.kind, "kernel": _pair(op.kernel),
             "stride": _pair(op.stride), "padding": _pair(op.padding),
             "in ch": op.in_channels, "out ch": op.out_channels,
             "output": "×".join(map(str, op.output_shape[1:])),
             "weights": weight_shapes(op), "params": op.params, "MACs": op.macs,
             "stats": [stats_text(tensor) for tensor in stats.of(op.name)] if stats else []}
            for op in dense_layer_ops(trace, block, position)]


def stats_text(tensor: TensorStats) -> str:
    """One learned tensor's statistics as the panel writes them."""
    def number(value: float) -> str:
        return f"{value:.3g}".replace("-", "−")

    return (f"{tensor.tensor}: mean |W| {number(tensor.mean_abs)}, min {number(tensor.min)}, "
            f"max {number(tensor.max)}")
