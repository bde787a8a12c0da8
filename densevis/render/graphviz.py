"""Layout -> graphviz graph with every position pinned (engine ``neato``).

Rendering with ``neato -n2`` (see ``export.diagram_bytes``) only draws, so a block of 100
layers (5,050 links) renders in well under a second. Styling (fills, outlines, link colours,
highlight, metric colours) is read from the theme here; geometry comes from the layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import graphviz

from densevis.render.layout import METRIC_TITLES, Edge, Layout, Node, Point, metric_text
from densevis.render.theme import Theme, get_theme, with_alpha

PINNED_ENGINE = "neato"  # graphs with this engine carry their own layout: render with -n2
LINK_CLASS = "link"  # SVG/DOT class of an edge into a dense layer
OUTPUT_LINK_CLASS = "output-link"  # SVG/DOT class of an edge into the block output concat
ARROW = 7.0  # points: arrowhead length graphviz draws at an edge's end point
_STAGE_OF_ROLE = {"block-input": "stem", "dense-layer": "block", "block-output": "block",
                  "source": "block", "reuse": "block"}


def _fmt(point: Point) -> str:
    return f"{point[0]:.1f},{-point[1]:.1f}"  # graphviz's y grows upwards


def _spline(points: Sequence[Point]) -> str:
    """Graphviz edge ``pos``: 'e,tip p0 p1 ...', the path shortened for the arrowhead."""
    (xa, ya), (xb, yb) = points[-2], points[-1]
    length = math.hypot(xb - xa, yb - ya) or 1.0
    cut = min(ARROW, length / 2)
    base = (xb - (xb - xa) * cut / length, yb - (yb - ya) * cut / length)
    return f"e,{_fmt(points[-1])} " + " ".join(_fmt(p) for p in [*points[:-1], base])


def metric_fill(layout: Layout, node: Node, theme: Theme) -> str | None:
    """A node's colour-by fill (None when the layout is not coloured or the node has no value):
    the one colour rule of every view, on the theme's sequential scale."""
    if layout.metric is None or node.metric is None or layout.metric_range is None:
        return None
    low, high = layout.metric_range
    return theme.metric_color((node.metric - low) / (high - low) if high > low else 1.0)


def node_fill(layout: Layout, node: Node, theme: Theme) -> str:
    """Fill: the metric colour, else the highlight role's fill, else the stage's fill."""
    fill = metric_fill(layout, node, theme)
    if fill is not None:
        return fill
    if node.state in ("input", "consumer") and layout.metric is None:
        return theme.input_fill if node.state == "input" else theme.consumer_fill
    if node.role == "op":
        return theme.stage_fill("transition") if node.kind == "conv" else theme.node_fill
    return theme.stage_fill(_STAGE_OF_ROLE.get(node.role, node.role))


@lru_cache(maxsize=64)
def source_colors(theme: Theme, count: int) -> tuple[str, ...]:
    """The theme's link colours for a block of ``count`` sources (computed once per block)."""
    return tuple(theme.source_colors(count))


def node_outline(node: Node, theme: Theme) -> tuple[str, float]:
    """(colour, width): the highlight, else the colour of the links the node sends."""
    if node.state == "focus":
        return theme.highlight, 4.0
    if node.source is not None:
        return source_colors(theme, node.source[1])[node.source[0]], 2.4
    return theme.foreground, 1.2


def edge_stroke(edge: Edge, theme: Theme) -> tuple[str, float]:
    """(colour, width) of an edge: links by their source's colour, dimmed by a highlight."""
    if edge.source_layer is None:
        return theme.edge_color, 1.6
    index, count = edge.source_layer
    color = source_colors(theme, count)[index]
    if edge.state == "dim":
        return theme.edge_dim, 0.6
    if edge.state == "active":
        return color, 2.2
    return with_alpha(color, 0.85), 1.1 if count <= 31 else 0.6


def _graph(layout: Layout, theme: Theme) -> graphviz.Digraph:
    graph = graphviz.Digraph(name=layout.name, engine=PINNED_ENGINE,
                             comment="densevis: pinned layout, render with `neato -n2 -Tsvg`")
    graph.attr(bgcolor=theme.background, fontname=theme.font_family, fontcolor=theme.foreground,
               fontsize=str(theme.font_size + 5), label=layout.title, labelloc="t",
               labeljust="l", pad="0.3", outputorder="edgesfirst", splines="true",
               inputscale="72", notranslate="false")
    graph.attr("node", shape="box", style="rounded,filled", fontname=theme.font_family,
               fontsize=f"{layout.font:g}", fontcolor=theme.foreground, color=theme.foreground,
               fillcolor=theme.node_fill, penwidth="1.2")
    graph.attr("edge", color=theme.edge_color, fontname=theme.font_family,
               fontsize=str(theme.font_size), fontcolor=theme.muted, arrowsize="0.6")
    return graph


def _add_node(graph: graphviz.Digraph, layout: Layout, node: Node, theme: Theme) -> None:
    fill = node_fill(layout, node, theme)
    color, pen = node_outline(node, theme)
    text = theme.foreground if fill == "transparent" else theme.text_on(fill)
    graph.node(node.id, label="\n".join(node.lines), pos=_fmt((node.x, node.y)) + "!",
               width=f"{node.w / 72:.3f}", height=f"{node.h / 72:.3f}", fixedsize="true",
               fillcolor=fill, fontcolor=text, color=color, penwidth=f"{pen:g}",
               tooltip=node.tooltip or node.lines[0], id=node.id,
               **{"class": " ".join(filter(None, (node.role, node.kind, node.state)))})


def _add_edge(graph: graphviz.Digraph, edge: Edge, theme: Theme) -> None:
    color, pen = edge_stroke(edge, theme)
    attrs = {"class": edge.role, "id": f"{edge.source}->{edge.target}"}
    if edge.role in ("skip", "residual"):
        attrs["style"] = "dashed"
    if edge.label:
        middle = edge.points[len(edge.points) // 2]
        attrs.update(label=f" {edge.label} ", lp=_fmt((middle[0], middle[1] - 8)))
    if edge.tooltip:
        attrs["tooltip"] = edge.tooltip
    arrow = "0.35" if edge.source_layer is not None else "0.9"
    graph.edge(edge.source, edge.target, pos=_spline(edge.points), color=color,
               penwidth=f"{pen:g}", arrowsize=arrow, **attrs)


def legend_label(layout: Layout, theme: Theme) -> str:
    """An HTML-like table: the metric's name and five colour steps with their values."""
    low, high = layout.metric_range or (0.0, 0.0)
    metric = layout.metric or "params"
    cells = []
    for step in range(5):
        color = theme.metric_color(step / 4)
        cells.append(f'<TD BGCOLOR="{color}" WIDTH="58"><FONT COLOR="{theme.text_on(color)}">'
                     f"{metric_text(metric, low + (high - low) * step / 4)}</FONT></TD>")
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
            f'<TR><TD COLSPAN="5">colour: {METRIC_TITLES[metric]} per layer</TD></TR>'
            f"<TR>{''.join(cells)}</TR></TABLE>>")


def _add_key(graph: graphviz.Digraph, layout: Layout, theme: Theme) -> None:
    """Below the drawing: how to read it, and the metric scale when colouring."""
    left, _, _, bottom = layout.bounds()
    font = layout.font
    width = max(len(line) for line in layout.key.splitlines()) * font * 0.6  # wrapped keys
    graph.node("key", label=layout.key + (f"\n{layout.note}" if layout.note else ""),
               shape="plaintext", style="", pos=_fmt((left + width / 2, bottom + 30)) + "!",
               fontcolor=theme.muted)
    if layout.metric is not None and layout.metric_range is not None:
        graph.node("legend", label=legend_label(layout, theme), shape="plaintext", style="",
                   pos=_fmt((left + 180, bottom + 90)) + "!", fontcolor=theme.foreground)


def to_graphviz(layout: Layout, theme: str | Theme = "light") -> graphviz.Digraph:
    """The layout as a pinned graphviz graph (render with ``neato -n2``)."""
    look = get_theme(theme)
    graph = _graph(layout, look)
    for node in layout.nodes:
        _add_node(graph, layout, node, look)
    for edge in layout.edges:
        _add_edge(graph, edge, look)
    _add_key(graph, layout, look)
    return graph
