"""Trace records -> diagram layouts: positioned nodes and edges as plain, frozen data.

Each view (overview, block, layer, full) is a function from records to a ``Layout``. Views
are built left to right (x along the main line, y downwards, arcs above the line); a
top-to-bottom diagram is the same layout transposed, applied once by ``_orient``. Dense
connectivity defeats ``dot`` (a 48-layer block takes minutes), so every position is computed
here: the layers of a block sit on one line and each link is an arc above it, its height
growing with the distance it spans. Emitters (``graphviz.py`` for files, ``interactive.py``
for the app) only draw. Reads records only: never imports torch or streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from densevis.errors import DenseVisError
from densevis.records import DenseLayerSummary, Op, Trace
from densevis.render.registry import COLOR_METRICS, DEFAULT_SHOW, DIRECTIONS, SHOW_FIELDS, VIEWS
from densevis.units import format_bytes, format_si

__all__ = ["COLOR_METRICS", "DIRECTIONS", "SHOW_FIELDS", "VIEWS", "DiagramOptions", "Edge",
           "Layout", "Node", "block_layout", "dense_layer_metric", "full_layout",
           "group_latency", "layer_layout", "layout", "metric_value", "overview_layout"]
METRIC_TITLES = {"params": "parameters", "macs": "MACs", "activation": "activation memory",
                 "latency": "latency"}
MAX_LINKS = 20_000  # more links than this in one view are bundled: one arc per source
MAX_DENSE_LAYERS = 3_000  # a view with more dense layers than this is refused

Point = tuple[float, float]
_KAPPA = 0.5523  # cubic Bezier approximation of a quarter ellipse


@dataclass(frozen=True)
class DiagramOptions:
    """What a diagram shows and how it looks (the same options for every view)."""

    direction: str = "LR"  # LR: left to right; TB: top to bottom
    show: tuple[str, ...] = DEFAULT_SHOW  # subset of SHOW_FIELDS
    color_by: str | None = None  # params|macs|latency|activation, with a legend
    highlight: str | None = None  # a dense layer name like "features.denseblock2.denselayer3"
    theme: str = "light"  # one of registry.THEMES (read by the emitters)
    expand: bool = False  # full view: list each dense layer's BN/ReLU/conv ops
    latency_ms: Mapping[str, float] | None = field(default=None, hash=False)  # op name -> ms

    def __post_init__(self) -> None:
        from densevis.render.theme import get_theme

        object.__setattr__(self, "show", tuple(self.show))
        if self.direction not in DIRECTIONS:
            raise DenseVisError(
                f"unknown direction {self.direction!r}; use {' or '.join(DIRECTIONS)}")
        unknown = [item for item in self.show if item not in SHOW_FIELDS]
        if unknown:
            raise DenseVisError(
                f"unknown node field(s) {', '.join(unknown)}; use {', '.join(SHOW_FIELDS)}")
        if self.color_by is not None and self.color_by not in COLOR_METRICS:
            raise DenseVisError(
                f"cannot colour by {self.color_by!r}; use one of {', '.join(COLOR_METRICS)}")
        if self.color_by == "latency" and not self.latency_ms:
            raise DenseVisError("colouring by latency needs measured latencies (profile first)")
        get_theme(self.theme)


@dataclass(frozen=True)
class Node:
    """A box: centre (x, y) and size (w, h) in points, y downwards."""

    id: str  # the trace's op, stage or dense-layer name (features.denseblock3.denselayer12)
    x: float
    y: float
    w: float
    h: float
    lines: tuple[str, ...]  # label text, one entry per line
    role: str  # input, stem, block, transition, head, block-input, dense-layer, block-output,
    #            op, source (a layer view's input), reuse (a layer view's output)
    kind: str = ""  # the op kind for ops ("conv", ...), else ""
    metric: float | None = None  # value of the colour-by metric (None: not coloured)
    tooltip: str = ""
    state: str = ""  # with a highlight: focus, input, consumer, or "" (unrelated)
    source: tuple[int, int] | None = None  # (s, sources in its block): link colour it owns
    block: int | None = None  # dense block it belongs to or stands for
    position: int | None = None  # dense layer l (drill-down target)


@dataclass(frozen=True)
class Edge:
    """A connection drawn as a cubic Bezier path (start + 3 points per segment) that ends
    on the target's border, where the arrow tip goes."""

    source: str  # node id
    target: str  # node id
    points: tuple[Point, ...]
    role: str  # link (into a dense layer), output-link (into the block output), flow, bundle,
    #            skip, residual (a custom module's joins outside dense blocks: Trace.edges)
    source_layer: tuple[int, int] | None = None  # (s, sources in its block) for links
    channels: int | None = None  # channels the edge carries
    tooltip: str = ""
    label: str = ""  # text drawn at the middle (the layer view's channel numbers)
    state: str = ""  # with a highlight: active (touches it) or dim


@dataclass(frozen=True)
class Layout:
    """One view, ready to draw."""

    view: str
    name: str  # short file-like name: overview, block3, layer_b3_l12, full
    title: str
    key: str  # how to read the nodes and the links
    direction: str
    font: float  # label size in points
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    metric: str | None = None
    metric_range: tuple[float, float] | None = None
    focus: str | None = None  # id of the highlighted dense layer
    note: str = ""  # why the view was simplified (links bundled)

    def bounds(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) around every node and edge point."""
        xs = [n.x - n.w / 2 for n in self.nodes] + [n.x + n.w / 2 for n in self.nodes]
        ys = [n.y - n.h / 2 for n in self.nodes] + [n.y + n.h / 2 for n in self.nodes]
        xs += [p[0] for e in self.edges for p in e.points]
        ys += [p[1] for e in self.edges for p in e.points]
        return min(xs), min(ys), max(xs), max(ys)

    def node(self, node_id: str) -> Node:
        return next(node for node in self.nodes if node.id == node_id)


# --------------------------------------------------------------------------- metrics


def group_latency(ops: Sequence[Op], latency_ms: Mapping[str, float] | None) -> float | None:
    """The one latency rule: the sum of the measured latencies of a group's ops (a dense
    layer is its concat, BN, ReLU and conv ops); None when none of them was measured."""
    values = [latency_ms[op.name] for op in ops if latency_ms and op.name in latency_ms]
    return sum(values) if values else None


def metric_value(ops: Sequence[Op], metric: str,
                 latency_ms: Mapping[str, float] | None = None) -> float | None:
    """A group of ops' params, MACs, activation bytes or latency (the colour-by value)."""
    if metric == "latency":
        return group_latency(ops, latency_ms)
    attribute = {"params": "params", "macs": "macs", "activation": "activation_bytes"}[metric]
    return float(sum(getattr(op, attribute) for op in ops))


def dense_layer_ops(trace: Trace, block: int, position: int) -> tuple[Op, ...]:
    return tuple(op for op in trace.ops if op.block == block and op.position == position)


def block_ops(trace: Trace, block: int) -> dict[int, list[Op]]:
    """Dense layer l -> its ops, for one block, in one pass over the trace."""
    groups: dict[int, list[Op]] = {}
    for op in trace.ops:
        if op.block == block and op.position is not None:
            groups.setdefault(op.position, []).append(op)
    return groups


def dense_layer_metric(trace: Trace, row: DenseLayerSummary, metric: str,
                       latency_ms: Mapping[str, float] | None = None) -> float | None:
    """A dense layer's metric value (for the diagrams and the charts alike)."""
    return metric_value(dense_layer_ops(trace, row.block, row.position), metric, latency_ms)


def metric_text(metric: str, value: float) -> str:
    """A metric value as a diagram legend shows it."""
    if metric == "activation":
        return format_bytes(value)
    if metric == "latency":
        return f"{value:.3g} ms"
    return format_si(value)


def metric_fraction(value: float, bounds: tuple[float, float]) -> float:
    """Where a value sits in [low, high], 0..1 (1 when all values are equal)."""
    low, high = bounds
    return (value - low) / (high - low) if high > low else 1.0


def _metric_range(nodes: Sequence[Node]) -> tuple[float, float] | None:
    values = [node.metric for node in nodes if node.metric is not None]
    return (min(values), max(values)) if values else None


# --------------------------------------------------------------------------- text and geometry


def text_size(lines: Sequence[str], font: float) -> tuple[float, float]:
    """(width, height) in points a box needs for its lines (DejaVu Sans ~0.6 em/char)."""
    width = max(40.0, max(len(line) for line in lines) * font * 0.6 + 10)
    return width, len(lines) * (font + 3) + 10


def _span(size: tuple[float, float], direction: str) -> tuple[float, float]:
    """A text box's (extent along the main line, extent across it)."""
    return size if direction == "LR" else (size[1], size[0])


def polyline(points: Sequence[Point]) -> tuple[Point, ...]:
    """Straight segments as a Bezier path (each segment a degenerate cubic)."""
    path = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        path += [(x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3),
                 (x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3), (x1, y1)]
    return tuple(path)


def arc(start_x: float, end_x: float, top: float, height: float) -> tuple[Point, ...]:
    """Half an ellipse above ``top`` from start_x to end_x as two cubics (control points stay
    inside the ellipse's box, so the drawing's bounds hug the arcs)."""
    middle, radius, peak = (start_x + end_x) / 2, (end_x - start_x) / 2, top - height
    return ((start_x, top), (start_x, top - height * _KAPPA), (middle - radius * _KAPPA, peak),
            (middle, peak), (middle + radius * _KAPPA, peak), (end_x, top - height * _KAPPA),
            (end_x, top))


def _orient(layout: Layout) -> Layout:
    """Apply the direction: TB is the LR layout transposed (boxes keep their text size)."""
    if layout.direction == "LR":
        return layout
    nodes = tuple(replace(n, x=n.y, y=n.x, w=n.h, h=n.w) for n in layout.nodes)
    edges = tuple(replace(e, points=tuple((y, x) for x, y in e.points)) for e in layout.edges)
    return replace(layout, nodes=nodes, edges=edges)


def _row(sizes: Sequence[float], gap: float, start: float = 0.0) -> list[float]:
    """Centres of boxes of the given extents placed one after another with a gap."""
    centers, edge = [], start
    for extent in sizes:
        centers.append(edge + extent / 2)
        edge += extent + gap
    return centers


def _chain(nodes: Sequence[Node], role: str = "flow") -> list[Edge]:
    """Straight arrows between consecutive nodes on one horizontal line."""
    return [Edge(a.id, b.id, polyline([(a.x + a.w / 2, a.y), (b.x - b.w / 2, b.y)]), role)
            for a, b in zip(nodes, nodes[1:], strict=False)]


# --------------------------------------------------------------------------- dense links


@dataclass(frozen=True)
class _Line:
    """One dense block on a line: ids and x of x0, H1..HL and the output; the arcs' base."""

    block: int
    ids: tuple[str, ...]
    centers: tuple[float, ...]
    width: float  # node extent along the line
    top: float  # y of the nodes' top side
    scale: float  # arc height per point of span


def _attach(line: _Line, index: int, slot: int, slots: int, outgoing: bool) -> float:
    """x where a link leaves (right half) or enters (left half) node ``index``: longer links
    start nearer the source's centre and end nearer the target's, so arcs nest."""
    half = line.width / 2 - 4
    offset = half / 2 if slots <= 1 else 2 + (half - 2) * slot / (slots - 1)
    return line.centers[index] + (offset if outgoing else -offset)


def _link_arc(line: _Line, source: int, target: int) -> tuple[Point, ...]:
    last = len(line.ids) - 1
    start = _attach(line, source, slot=last - target, slots=last - source, outgoing=True)
    end = _attach(line, target, slot=source, slots=target, outgoing=False)
    return arc(start, end, line.top, line.scale * (end - start) + 12)


def _source_name(index: int) -> str:
    return "x0" if index == 0 else f"H{index}"


def dense_links(trace: Trace, line: _Line, focus: int | None, bundle: bool) -> list[Edge]:
    """Every link of one block (sources 0..L into H1..HL and the output) as arcs; with
    ``bundle`` one arc per source to its last consumer stands for all its links."""
    count = len(line.ids) - 2
    widths = trace.source_channels(line.block)
    if bundle:
        pairs = [(s, count + 1, "bundle") for s in range(count + 1)]
    else:
        pairs = [(link.source, link.target, "link") for link in trace.block_links(line.block)]
        pairs += [(link.source, link.target, "output-link") for link in trace.output_links
                  if link.block == line.block]
    edges = []
    for source, target, role in pairs:
        state = "" if focus is None else "active" if focus in (source, target) else "dim"
        target_name = "output" if target == count + 1 else f"H{target}"
        text = (f"{_source_name(source)} → {target_name}: {widths[source]} channels"
                if role != "bundle" else f"{_source_name(source)} → H{source + 1}…output: "
                f"{count + 1 - source} links of {widths[source]} channels")
        edges.append(Edge(line.ids[source], line.ids[target], _link_arc(line, source, target),
                          role, (source, count + 1), widths[source], text, state=state))
    return edges


def _roles(trace: Trace, block: int, focus: int | None) -> dict[int, str]:
    """Index on the block's line -> highlight state, from the links themselves."""
    if focus is None:
        return {}
    count = trace.block(block).dense_layers
    links = [*trace.block_links(block), *(k for k in trace.output_links if k.block == block)]
    states = {link.source: "input" for link in links if link.target == focus}
    states.update({link.target: "consumer" for link in links if link.source == focus})
    states[focus] = "focus"
    return {index: states.get(index, "") for index in range(count + 2)}


def _focus(trace: Trace, highlight: str | None) -> tuple[int, int] | None:
    """(block, position) of the highlighted dense layer; DenseVisError if it does not exist."""
    if not highlight:
        return None
    for row in trace.dense_layers():
        if row.name in (highlight, f"features.{highlight}"):
            return row.block, row.position
    raise DenseVisError(
        f"no dense layer named {highlight!r}; names look like features.denseblock2.denselayer3")


# --------------------------------------------------------------------------- node text


def layer_lines(row: DenseLayerSummary, show: Sequence[str], latency: float | None) -> list[str]:
    """A dense layer's node text: name, then input channels, params, MACs, ms (as shown)."""
    lines = [f"H{row.position}"]
    if "shape" in show:
        lines.append(str(row.in_channels))
    if "params" in show:
        lines.append(format_si(row.params))
    if "macs" in show:
        lines.append(format_si(row.macs))
    if "latency" in show and latency is not None:
        lines.append(f"{latency:.2f}ms")
    return lines


def _layer_key(show: Sequence[str], latency: bool) -> str:
    """What the lines of a dense layer's node mean."""
    parts = ["layer"] + [text for name, text in (
        ("shape", "input channels k0 + k(l-1)"), ("params", "parameters"), ("macs", "MACs"),
        ("latency", "latency")) if name in show and (name != "latency" or latency)]
    return "node lines: " + " / ".join(parts)


def layer_tooltip(row: DenseLayerSummary, latency: float | None) -> str:
    text = (f"{row.name}: {row.in_channels} → {row.out_channels} channels "
            f"(input k0 + k(l−1)), {row.params:,} params, {row.macs:,} MACs, "
            f"activation {format_bytes(row.activation_bytes)}")
    return text + (f", {latency:.3f} ms" if latency is not None else "")


def op_title(group: Sequence[Op], trace: Trace) -> str:
    """A stem/head box's name: '7×7 conv, stride 2 + BN-ReLU', '3×3 max pool', ..."""
    first = group[0]
    if first.kind == "conv" and first.kernel:
        title = f"{first.kernel[0]}×{first.kernel[1]} conv"
        if first.stride and first.stride[0] > 1:
            title += f", stride {first.stride[0]}"
        norm_relu = any(op.kind in ("batchnorm", "relu") for op in group[1:])
        return title + (" + BN-ReLU" if norm_relu else "")
    if first.kind == "maxpool" and first.kernel:
        return f"{first.kernel[0]}×{first.kernel[1]} max pool"
    if first.kind == "avgpool":
        shape = first.output_shape
        spatial = len(shape) == 4 and shape[2] == shape[3] == 1
        return "global average pool" if spatial else "average pool"
    if first.kind == "linear":
        return f"classifier ({first.out_channels} classes)"
    return "BN-ReLU" if first.kind in ("batchnorm", "relu") else first.kind


_KIND_NAMES = {"batchnorm": "BN", "relu": "ReLU", "maxpool": "max pool", "avgpool": "avg pool",
               "convtranspose": "transposed conv", "concat": "concat"}


def _kinds(ops: Sequence[Op], most: int = 4) -> str:
    """The op kinds of a custom module's stage, in order of first use: 'conv, BN, ReLU'."""
    kinds = list(dict.fromkeys(_KIND_NAMES.get(op.kind, op.kind) for op in ops))
    return ", ".join(kinds[:most]) + (", …" if len(kinds) > most else "")


def split_ops(ops: Sequence[Op]) -> list[list[Op]]:
    """Stem/head ops into boxes: every conv, pool or linear starts one; BN/ReLU join it."""
    groups: list[list[Op]] = []
    for op in ops:
        starts = op.kind in ("conv", "maxpool", "avgpool", "linear")
        if not groups or starts or groups[-1][-1].kind not in ("conv", "batchnorm", "relu"):
            groups.append([op])
        else:
            groups[-1].append(op)
    return groups


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class _Box:
    """One overview box before placement."""

    id: str
    role: str
    lines: tuple[str, ...]
    tooltip: str
    ops: tuple[Op, ...]
    block: int | None = None


def _numbers(ops: Sequence[Op], shape: Sequence[int], channels: tuple[int, int],
             options: DiagramOptions) -> list[str]:
    """An overview box's optional lines: channels and size, params, MACs, latency."""
    lines = []
    if "shape" in options.show:
        size = f"{shape[2]}×{shape[3]}" if len(shape) == 4 else "vector"
        lines.append(f"{channels[0]} → {channels[1]} ch, {size}")
    if "params" in options.show:
        lines.append(f"{format_si(sum(o.params for o in ops))} params")
    if "macs" in options.show:
        lines.append(f"{format_si(sum(o.macs for o in ops))} MACs")
    latency = group_latency(ops, options.latency_ms)
    if "latency" in options.show and latency is not None:
        lines.append(f"{latency:.2f} ms")
    return lines


def _stage_boxes(trace: Trace, options: DiagramOptions) -> list[_Box]:
    """Input, stem ops, blocks, transitions, head ops: one box each, in order."""
    channels, *size = trace.image_shape
    boxes = [_Box("input", "input", (
        "input image", f"{channels} ch, {'×'.join(map(str, size))}"), "input", ())]
    for stage in trace.stages():
        ops = tuple(op for op in trace.ops if op.stage == stage.name)
        if stage.kind in ("stem", "head"):
            for group in split_ops(ops):
                title = op_title(group, trace)
                numbers = _numbers(group, group[-1].output_shape,
                                   (group[0].in_channels, group[-1].out_channels), options)
                boxes.append(_Box(group[0].name, stage.kind, (title, *numbers), title,
                                  tuple(group)))
            continue
        count = (f"{stage.dense_layers} dense layers" if stage.kind == "block"
                 else "BN-ReLU, 1×1 conv, avg pool" if not trace.is_custom else _kinds(ops))
        numbers = _numbers(ops, stage.output_shape, (stage.in_channels, stage.out_channels),
                           options)
        boxes.append(_Box(f"features.dense{stage.name}" if stage.kind == "block"
                          else f"features.{stage.name}", stage.kind,
                          (stage.title, count, *numbers), stage.title, ops,
                          int(stage.name[5:]) if stage.kind == "block" else None))
    return boxes


def _wrap(count: int, cell: tuple[float, float], transposed: bool) -> int:
    """Boxes per row (cell: a box's step along and across rows) whose grid is closest to a
    16:9 picture once oriented (no empty last row)."""
    best, best_error = 1, math.inf
    for per_row in range(1, count + 1):
        rows = math.ceil(count / per_row)
        if rows > 1 and per_row * rows - count >= per_row:
            continue
        wide, tall = per_row * cell[0], rows * cell[1]
        wide, tall = (tall, wide) if transposed else (wide, tall)
        error = abs(math.log((wide / tall) / (16 / 9)))
        if error < best_error:
            best, best_error = per_row, error
    return best


def _wrapped_flow(nodes: Sequence[Node], gap: float) -> list[Edge]:
    """Arrows between consecutive boxes of a wrapped grid: straight along a row; at a wrap
    down into the gap, back to the next row's first box, down into it."""
    edges = []
    for a, b in zip(nodes, nodes[1:], strict=False):
        if a.y == b.y:
            edges += _chain([a, b])
            continue
        middle = a.y + a.h / 2 + gap / 2
        edges.append(Edge(a.id, b.id, polyline([(a.x, a.y + a.h / 2), (a.x, middle),
                                                (b.x, middle), (b.x, b.y - b.h / 2)]), "flow"))
    return edges


def overview_layout(trace: Trace, options: DiagramOptions | None = None) -> Layout:
    """Input, stem ops, dense blocks, transitions and head ops, one box each in reading
    order, wrapped into rows (columns for TB) so the whole network fits a 16:9 slide."""
    options = options or DiagramOptions()
    boxes, font = _stage_boxes(trace, options), 13.0
    sizes = [text_size(box.lines, font) for box in boxes]
    size = (max(s[0] for s in sizes), max(s[1] for s in sizes) + 6)
    along, across = _span(size, options.direction)
    gap = (34.0, 44.0)
    per_row = _wrap(len(boxes), (along + gap[0], across + gap[1]), options.direction == "TB")
    metric = options.color_by
    nodes = [Node(box.id, (i % per_row) * (along + gap[0]), (i // per_row) * (across + gap[1]),
                  along, across, box.lines, box.role, tooltip=box.tooltip, block=box.block,
                  metric=metric_value(box.ops, metric, options.latency_ms)
                  if metric and box.ops else None) for i, box in enumerate(boxes)]
    totals = trace.totals
    title = (f"{trace.model}: {format_si(totals.params)} params, "
             f"{format_si(totals.macs)} MACs, depth {totals.depth}")
    key = "each box: one stage of the network, in order"
    shortcuts = _shortcut_edges(trace, boxes, nodes, gap[1])
    if shortcuts:
        key += "  ·  dashed: skip concatenations and residual additions (not dense links)"
    return _orient(Layout("overview", "overview", title, key, options.direction, font, tuple(nodes),
                          tuple(_wrapped_flow(nodes, gap[1]) + shortcuts), metric,
                          _metric_range(nodes)))


def _shortcut_edges(trace: Trace, boxes: Sequence[_Box], nodes: Sequence[Node], gap: float
                    ) -> list[Edge]:
    """A custom module's skip and residual joins (``Trace.edges``) between two overview boxes,
    routed through the gap under the source's row; joins inside one box are not drawn."""
    box_of = {op.index: node for box, node in zip(boxes, nodes, strict=True) for op in box.ops}
    box_of[-1] = nodes[0]
    edges = []
    for join in trace.edges:
        a, b = box_of.get(join.source), box_of.get(join.target)
        if a is None or b is None or a.id == b.id:
            continue
        middle = a.y + a.h / 2 + gap / 3
        if b.y == a.y:  # same row: under both boxes
            path = [(a.x, a.y + a.h / 2), (a.x, middle), (b.x, middle), (b.x, b.y + b.h / 2)]
        else:  # a later row: down the gap left of b's column, into b from above
            side, above = b.x - b.w / 2 - 17, b.y - b.h / 2 - gap / 3
            path = [(a.x, a.y + a.h / 2), (a.x, middle), (side, middle), (side, above),
                    (b.x, above), (b.x, b.y - b.h / 2)]
        edges.append(Edge(a.id, b.id, polyline(path), join.kind,
                          tooltip=f"{join.kind}: {trace.edge_name(join.source)} → "
                                  f"{trace.edge_name(join.target)}"))
    return edges


# --------------------------------------------------------------------------- block


def _next_stage(trace: Trace, block: int) -> tuple[str, str, tuple[str, ...]]:
    """(id, role, lines) of what the block output feeds: the transition or the head."""
    last = block == len(trace.blocks)
    stage = "head" if last else f"transition{block}"
    out = next((s.out_channels for s in trace.stages() if s.name == stage), None)
    title = "head: BN-ReLU, pool, classifier" if last else f"transition {block}"
    if trace.is_custom and last:
        title = "head: " + _kinds([op for op in trace.ops if op.stage == "head"])
    lines = (title, *([f"→ {out} ch"] if out is not None else []))
    node_id = "features.norm5" if last else f"features.transition{block}"
    return node_id, "head" if last else "transition", lines


def block_ids(trace: Trace, block: int) -> list[str]:
    """Node ids of a block's line: x0 (the op that produced it), H1..HL, the output."""
    first = next(op for op in trace.ops if op.block == block)
    before = trace.ops[first.index - 1].name if first.index else "input"
    rows = trace.dense_layers(block)
    return [before, *(row.name for row in rows), f"features.denseblock{block}.output"]


def _block_nodes(trace: Trace, block: int, options: DiagramOptions) -> list[Node]:
    """x0, H1..HL and the output (unplaced: x = y = 0, size = the text box)."""
    info, rows, ids = trace.block(block), trace.dense_layers(block), block_ids(trace, block)
    metric, count, ops = options.color_by, info.dense_layers, block_ops(trace, block)
    nodes = [Node(ids[0], 0, 0, 0, 0, ("x0", str(info.k0)), "block-input", source=(0, count + 1),
                  tooltip=f"block input x0: {info.k0} channels", block=block, position=0)]
    for row in rows:
        latency = group_latency(ops[row.position], options.latency_ms)
        nodes.append(Node(row.name, 0, 0, 0, 0, tuple(layer_lines(row, options.show, latency)),
                          "dense-layer", tooltip=layer_tooltip(row, latency),
                          metric=metric_value(ops[row.position], metric, options.latency_ms)
                          if metric else None, source=(row.position, count + 1),
                          block=block, position=row.position))
    nodes.append(Node(ids[-1], 0, 0, 0, 0, ("out", str(info.out_channels)), "block-output",
                      tooltip=f"block output: concatenation of x0, H1..H{count} "
                              f"({info.out_channels} channels)", block=block))
    return nodes


def _place_line(nodes: Sequence[Node], along: float, across: float, gap: float,
                y: float = 0.0, start: float = 0.0) -> list[Node]:
    """Nodes on one horizontal line, every box the same size."""
    centers = _row([along] * len(nodes), gap, start)
    return [replace(node, x=x, y=y, w=along, h=across)
            for node, x in zip(nodes, centers, strict=True)]


def _bundle(links: int, dense_layers: int) -> bool:
    if dense_layers > MAX_DENSE_LAYERS:
        raise DenseVisError(f"this view has {dense_layers:,} dense layers, more than the "
                            f"{MAX_DENSE_LAYERS:,} a diagram can show; pick a smaller block")
    return links > MAX_LINKS


def _bundle_note(bundle: bool, links: int) -> str:
    return (f"{links:,} links are more than {MAX_LINKS:,}: each source's links are bundled "
            "into one arc" if bundle else "")


def block_layout(trace: Trace, block: int, options: DiagramOptions | None = None) -> Layout:
    """One dense block: x0, H1..HL on a line, all L(L+1)/2 links and the L+1 links into the
    output as arcs above it, then the transition (or head)."""
    options = options or DiagramOptions()
    info, font = trace.block(block), 14.0
    bundle = _bundle(info.links + info.output_links, info.dense_layers)
    drafts = _block_nodes(trace, block, options)
    size = tuple(max(text_size(n.lines, font)[i] for n in drafts) for i in (0, 1))
    along, across = _span((size[0], size[1]), options.direction)
    nodes = _place_line(drafts, along, across, 8.0)
    focus = _focus(trace, options.highlight)
    spot = focus[1] if focus and focus[0] == block else None
    states = _roles(trace, block, spot)
    nodes = [replace(n, state=states.get(i, "")) for i, n in enumerate(nodes)]
    line = _Line(block, tuple(n.id for n in nodes), tuple(n.x for n in nodes), along,
                 -across / 2, 0.42 if options.direction == "LR" else 0.3)
    next_id, role, lines = _next_stage(trace, block)
    width, height = _span(text_size(lines, font), options.direction)
    tail = Node(next_id, nodes[-1].x + along / 2 + 40 + width / 2, 0, width, height, lines, role)
    title = (f"Dense block {block} of {trace.model}: L = {info.dense_layers}, "
             f"k = {info.growth_rate}, k0 = {info.k0}, {info.links} links + "
             f"{info.output_links} into the output, {info.height}×{info.width}")
    key = (_layer_key(options.show, bool(options.latency_ms)) + "  ·  link colour = the layer "
           "whose output it carries (that layer's outline); arcs enter a layer on its left")
    edges = dense_links(trace, line, spot, bundle) + _chain([nodes[-1], tail])
    return _orient(Layout("block", f"block{block}", title, key, options.direction, font,
                          (*nodes, tail), tuple(edges), options.color_by,
                          _metric_range(nodes), _focus_id(trace, focus),
                          _bundle_note(bundle, info.links + info.output_links)))


# --------------------------------------------------------------------------- layer


def op_lines(op: Op, show: Sequence[str], latency_ms: Mapping[str, float] | None,
             sources: int = 0) -> list[str]:
    """An op's node text in the dense-layer view."""
    if op.kind == "concat":
        lines = ["concat", f"{op.out_channels} ch from {sources} input(s)"]
    elif op.kind == "conv" and op.kernel:
        lines = [f"{op.kernel[0]}×{op.kernel[1]} conv", f"{op.in_channels} → {op.out_channels} ch"]
    elif op.kind == "batchnorm":
        lines = ["BN", f"{op.out_channels} ch"]
    else:
        lines = ["ReLU" if op.kind == "relu" else op.kind]
    if "shape" in show and len(op.output_shape) == 4:
        lines.append(f"{op.output_shape[2]}×{op.output_shape[3]}")
    if "params" in show and op.params:
        lines.append(f"{op.params:,} params")
    if "macs" in show and op.macs:
        lines.append(f"{format_si(op.macs)} MACs")
    if "latency" in show and latency_ms and op.name in latency_ms:
        lines.append(f"{latency_ms[op.name]:.3f} ms")
    return lines


def op_tooltip(op: Op) -> str:
    """An op's properties: kind, kernel, stride, padding, channels, shapes, params, MACs."""
    parts = [f"{op.name} ({op.kind})"]
    if op.kernel:
        stride, padding = op.stride or (1, 1), op.padding or (0, 0)
        parts.append(f"kernel {op.kernel[0]}×{op.kernel[1]}, stride {stride[0]}, "
                     f"padding {padding[0]}")
    shape = "×".join(map(str, op.output_shape))
    parts.append(f"{op.in_channels} → {op.out_channels} ch, out {shape}")
    return ", ".join(parts) + f", {op.params:,} params, {op.macs:,} MACs"


def _sized(node: Node, direction: str, font: float) -> Node:
    along, across = _span(text_size(node.lines, font), direction)
    return replace(node, w=along, h=across)


def _layer_nodes(trace: Trace, block: int, position: int,
                 options: DiagramOptions) -> tuple[list[Node], list[Node]]:
    """(the inputs x0, H1..H(l-1); the ops then the output), unplaced."""
    info, ids = trace.block(block), block_ids(trace, block)
    count, widths = info.dense_layers + 1, trace.source_channels(block)
    ops = dense_layer_ops(trace, block, position)
    sources = [Node(ids[s], 0, 0, 0, 0, ("x0 (block input)" if s == 0 else f"H{s}",
                                         f"{widths[s]} ch"), "source", source=(s, count),
                    block=block, position=s, tooltip=f"{_source_name(s)}: {widths[s]} channels")
               for s in range(position)]
    metric = options.color_by
    chain = [Node(op.name, 0, 0, 0, 0, tuple(op_lines(op, options.show, options.latency_ms,
                                                      len(op.sources))), "op", op.kind,
                  metric_value([op], metric, options.latency_ms) if metric else None,
                  op_tooltip(op), block=block, position=position) for op in ops]
    users = [f"H{i}" for i in range(position + 1, count)]
    reuse = f"{users[0]}…{users[-1]} and the block output" if users else "the block output"
    chain.append(Node(f"{ids[position]}.output", 0, 0, 0, 0, (
        f"output: {widths[position]} new channels", f"reused by {reuse}"), "reuse",
        source=(position, count), block=block, position=position))
    return sources, chain


def layer_layout(trace: Trace, block: int, position: int,
                 options: DiagramOptions | None = None) -> Layout:
    """Inside dense layer H_position of a block: its inputs, then concat, BN, ReLU, 1×1 conv
    (bn_size·k), BN, ReLU, 3×3 conv (k) and its output, with the traced channel numbers."""
    options = options or DiagramOptions()
    font, direction = 13.0, options.direction
    sources, chain = _layer_nodes(trace, block, position, options)
    sources = [_sized(node, direction, font) for node in sources]
    along = max(node.w for node in sources)
    across = max(node.h for node in sources)
    ys = _row([across] * len(sources), 6.0)
    sources = [replace(n, x=0, y=y - ys[-1] / 2, w=along, h=across)
               for n, y in zip(sources, ys, strict=True)]
    chain = [_sized(node, direction, font) for node in chain]
    xs = _row([node.w for node in chain], 44.0, start=along / 2 + 70)
    chain = [replace(node, x=x) for node, x in zip(chain, xs, strict=True)]
    concat = chain[0]
    edges = [Edge(s.id, concat.id, polyline([(s.x + s.w / 2, s.y), (concat.x - concat.w / 2, 0)]),
                  "link", s.source, int(s.lines[1].split()[0]), f"{_source_name(i)} → "
                  f"H{position}: {s.lines[1]}") for i, s in enumerate(sources)]
    edges += [replace(edge, label=str(trace.op(edge.source).out_channels), channels=int(
        trace.op(edge.source).out_channels)) for edge in _chain(chain)]
    row = trace.dense_layers(block)[position - 1]
    title = (f"Dense layer H{position} of block {block} ({row.name}): "
             f"{row.in_channels} channels in, {row.out_channels} out")
    return _orient(Layout("layer", f"layer_b{block}_l{position}", title,
                          "inputs reused (x0 and every earlier layer) → the layer's ops",
                          direction, font, (*sources, *chain), tuple(edges), options.color_by,
                          _metric_range(chain)))


# --------------------------------------------------------------------------- full network


def _expanded_lines(row: DenseLayerSummary, ops: Sequence[Op]) -> list[str]:
    lines = [f"H{row.position}  {row.in_channels} ch"]
    for op in ops:
        if op.kind == "conv" and op.kernel:
            lines.append(f"{op.kernel[0]}×{op.kernel[1]} conv → {op.out_channels}")
        elif op.kind in ("batchnorm", "relu"):
            lines.append(f"BN {op.out_channels}" if op.kind == "batchnorm" else "ReLU")
    return lines


def _lead(trace: Trace, block: int) -> list[Node]:
    """What sits before H1 on a block's row: the input and stem ops, or the transition."""
    if block > 1:
        stage = next(s for s in trace.stages() if s.name == f"transition{block - 1}")
        return [Node(f"features.transition{block - 1}", 0, 0, 0, 0, (
            stage.title, f"{stage.in_channels} → {stage.out_channels}"), "transition")]
    channels, height, *_ = trace.image_shape
    nodes = [Node("input", 0, 0, 0, 0, ("input", f"{channels}×{height}²"), "input")]
    for group in split_ops([op for op in trace.ops if op.stage == "stem"]):
        title = op_title(group, trace).replace(" + BN-ReLU", "").split(",")[0]
        nodes.append(Node(group[0].name, 0, 0, 0, 0, (title, f"→ {group[-1].out_channels} ch"),
                          "stem"))
    return nodes


def _head(trace: Trace) -> list[Node]:
    return [Node(group[0].name, 0, 0, 0, 0, (op_title(group, trace).split(" (")[0].replace(
        "global average pool", "avg pool"), f"→ {group[-1].out_channels}"), "head")
        for group in split_ops([op for op in trace.ops if op.stage == "head"])]


def _full_nodes(trace: Trace, block: int, options: DiagramOptions) -> list[Node]:
    """A block's row: lead, H1..HL, output (and the head after the last block), unplaced."""
    drafts = _block_nodes(trace, block, options)[1:]
    if options.expand:
        ops = block_ops(trace, block)
        drafts[:-1] = [replace(node, lines=tuple(_expanded_lines(row, ops[row.position])))
                       for node, row
                       in zip(drafts, trace.dense_layers(block), strict=False)]
    drafts[-1] = replace(drafts[-1], lines=("out", drafts[-1].lines[1]))
    lead = _lead(trace, block)
    lead[-1] = replace(lead[-1], source=(0, len(drafts)), block=block, position=0)
    return [*lead, *drafts, *(_head(trace) if block == len(trace.blocks) else [])]


def _full_row(trace: Trace, block: int, nodes: list[Node], size: tuple[float, float],
              top: float, focus: tuple[int, int] | None, bundle: bool
              ) -> tuple[list[Node], list[Edge], float]:
    """Place one block's row below ``top``: (nodes, edges, bottom of the row)."""
    count = trace.block(block).dense_layers
    first = next(i for i, n in enumerate(nodes) if n.position == 0)
    along = [max(size[0], n.w) if first <= i <= first + count + 1 else n.w
             for i, n in enumerate(nodes)]
    xs = _row(along, 8.0)
    span = xs[first + count + 1] - xs[first]
    y = top + 0.22 * span + 12 + size[1] / 2
    spot = focus[1] if focus and focus[0] == block else None
    states = _roles(trace, block, spot)
    placed = [replace(n, x=x, y=y, w=w, h=size[1], state=states.get(i - first, ""))
              for i, (n, x, w) in enumerate(zip(nodes, xs, along, strict=True))]
    on_line = placed[first:first + count + 2]
    line = _Line(block, tuple(n.id for n in on_line), tuple(n.x for n in on_line), size[0],
                 y - size[1] / 2, 0.22)
    edges = dense_links(trace, line, spot, bundle)
    edges += _chain(placed[:first + 1]) + _chain(placed[first + count + 1:])
    return placed, edges, y + size[1] / 2


def _connect(above: Node, below: Node) -> Edge:
    """The previous block's output down to the next row's first box."""
    middle = above.y + above.h / 2 + 20
    return Edge(above.id, below.id, polyline([(above.x, above.y + above.h / 2), (above.x, middle),
                                              (below.x, middle), (below.x, below.y - below.h / 2)]),
                "flow")


def full_layout(trace: Trace, options: DiagramOptions | None = None) -> Layout:
    """Every dense layer as one node (its ops listed with expand=True), every dense link of
    every block as an arc, one block per row (column for TB), transitions between rows."""
    options = options or DiagramOptions()
    font, direction = 13.0, options.direction
    links = len(trace.links) + len(trace.output_links)
    bundle = _bundle(links, sum(b.dense_layers for b in trace.blocks))
    rows = [[_sized(n, direction, font) for n in _full_nodes(trace, b.index, options)]
            for b in trace.blocks]
    layers = [n for row in rows for n in row if n.role == "dense-layer"]
    size = (max(n.w for n in layers), max(n.h for row in rows for n in row))
    nodes: list[Node] = []
    edges: list[Edge] = []
    top, focus = 0.0, _focus(trace, options.highlight)
    for block, row in zip(trace.blocks, rows, strict=True):
        placed, row_edges, bottom = _full_row(trace, block.index, row, size, top, focus, bundle)
        if nodes:
            row_edges.append(_connect(nodes[-1], placed[0]))  # previous block's output
        nodes, edges, top = nodes + placed, edges + row_edges, bottom + 50
    key = (_layer_key(options.show, bool(options.latency_ms)) if not options.expand else
           "node lines: layer, input channels, then its ops") + \
        "  ·  link colour = the layer whose output it carries"
    title = (f"{trace.model}: every dense layer and link ({len(layers)} dense layers, "
             f"{len(trace.links)} links, {format_si(trace.totals.params)} params)")
    return _orient(Layout("full", "full", title, key, direction, font, tuple(nodes),
                          tuple(edges), options.color_by, _metric_range(layers),
                          _focus_id(trace, focus), _bundle_note(bundle, links)))


def _focus_id(trace: Trace, focus: tuple[int, int] | None) -> str | None:
    return None if focus is None else trace.dense_layers(focus[0])[focus[1] - 1].name


# --------------------------------------------------------------------------- dispatch


def check_place(trace: Trace, view: str, block: int = 1, layer: int = 1) -> None:
    """DenseVisError unless the view exists and the block / layer numbers are in range."""
    if view not in VIEWS:
        raise DenseVisError(f"unknown view {view!r}; use one of {', '.join(VIEWS)}")
    if view != "overview" and not trace.blocks:
        raise DenseVisError(f"no dense blocks found in {trace.model}: the {view} view needs "
                            "one (the overview, op table and cost charts still apply)")
    if view in ("block", "layer"):
        count = len(trace.blocks)
        if isinstance(block, bool) or not isinstance(block, int) or not 1 <= block <= count:
            raise DenseVisError(f"block {block} is out of range: this model has blocks 1 to "
                                f"{count}")
    if view == "layer":
        layers = trace.block(block).dense_layers
        if isinstance(layer, bool) or not isinstance(layer, int) or not 1 <= layer <= layers:
            raise DenseVisError(f"layer {layer} is out of range: block {block} has layers "
                                f"1 to {layers}")


def layout(trace: Trace, view: str, block: int = 1, layer: int = 1,
           options: DiagramOptions | None = None) -> Layout:
    """The named view's layout, after checking the view name and the block / layer numbers."""
    check_place(trace, view, block, layer)
    builders: dict[str, Callable[[], Layout]] = {
        "overview": lambda: overview_layout(trace, options),
        "full": lambda: full_layout(trace, options),
        "block": lambda: block_layout(trace, block, options),
        "layer": lambda: layer_layout(trace, block, layer, options),
    }
    return builders[view]()
