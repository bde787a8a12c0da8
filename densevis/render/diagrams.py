"""Trace records -> graphviz diagrams: overview, one dense block, one dense layer, full network.

Dense connectivity defeats `dot` (a 48-layer block takes minutes), so the overview, block and
full views compute every position themselves: the layers of a block sit on one line and each
link is an arc above it, its height growing with the distance it spans. Node ``pos`` and edge
``pos`` (Bezier control points, in points) are written into the graph, whose engine is
``neato``; rendering it with ``neato -n2`` (see ``export.diagram_bytes``) only draws, so
a block of 100 layers (5,050 links) renders in well under a second. The small layer view is
a plain ``dot`` chain. Reads records only: never imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import graphviz

from densevis.errors import DenseVisError
from densevis.records import DenseLayerSummary, Op, Trace
from densevis.render.registry import COLOR_METRICS, DEFAULT_SHOW, DIRECTIONS, SHOW_FIELDS, VIEWS
from densevis.render.theme import Theme, get_theme, with_alpha
from densevis.units import format_bytes, format_compact, format_si

PINNED_ENGINE = "neato"  # graphs with this engine carry their own layout: render with -n2
LINK_CLASS = "link"  # SVG/DOT class of an edge into a dense layer
OUTPUT_LINK_CLASS = "output-link"  # SVG/DOT class of an edge into the block output concat


@dataclass(frozen=True)
class DiagramOptions:
    """What a diagram shows and how it looks (the same options for every view)."""

    direction: str = "LR"  # LR: left to right; TB: top to bottom
    show: tuple[str, ...] = DEFAULT_SHOW  # subset of SHOW_FIELDS
    color_by: str | None = None  # params|macs|latency|activation, with a legend
    highlight: str | None = None  # a dense layer name like "features.denseblock2.denselayer3"
    theme: str = "light"  # one of registry.THEMES
    expand: bool = False  # full view: list each dense layer's BN/ReLU/conv ops
    latency_ms: Mapping[str, float] | None = field(default=None, hash=False)  # op name -> ms

    def __post_init__(self) -> None:
        object.__setattr__(self, "show", tuple(self.show))
        if self.direction not in DIRECTIONS:
            raise DenseVisError(
                f"unknown direction {self.direction!r}; use {' or '.join(DIRECTIONS)}"
            )
        unknown = [item for item in self.show if item not in SHOW_FIELDS]
        if unknown:
            raise DenseVisError(
                f"unknown node field(s) {', '.join(unknown)}; use {', '.join(SHOW_FIELDS)}"
            )
        if self.color_by is not None and self.color_by not in COLOR_METRICS:
            raise DenseVisError(
                f"cannot colour by {self.color_by!r}; use one of {', '.join(COLOR_METRICS)}"
            )
        if self.color_by == "latency" and not self.latency_ms:
            raise DenseVisError("colouring by latency needs measured latencies (profile first)")
        get_theme(self.theme)


# --------------------------------------------------------------------------- geometry


Point = tuple[float, float]
_NODE_HEIGHT = 40.0  # points
_ARROW = 7.0  # points: arrowhead length graphviz draws at an edge's end point


def _fmt(point: Point) -> str:
    return f"{point[0]:.1f},{point[1]:.1f}"


def _spline(points: Sequence[Point], end: Point | None) -> str:
    """Graphviz edge ``pos``: 'e,end p0 p1 ...' (3n+1 Bezier points)."""
    text = " ".join(_fmt(p) for p in points)
    return f"e,{_fmt(end)} {text}" if end is not None else text


def _polyline(points: Sequence[Point]) -> list[Point]:
    """Straight segments as a Bezier path (each segment a degenerate cubic)."""
    path = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        path += [(x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3),
                 (x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3), (x1, y1)]
    return path


def _arrow_path(points: Sequence[Point]) -> str:
    """A polyline whose last segment is shortened for the arrowhead."""
    (xa, ya), (xb, yb) = points[-2], points[-1]
    length = math.hypot(xb - xa, yb - ya) or 1.0
    cut = min(_ARROW, length / 2)
    base = (xb - (xb - xa) * cut / length, yb - (yb - ya) * cut / length)
    return _spline(_polyline([*points[:-1], base]), end=points[-1])


class _Frame:
    """Maps layout coordinates (u along the main line, v across it, both in points) to
    graphviz points: LR puts u on x and v upwards; TB puts u downwards and v to the right."""

    def __init__(self, direction: str) -> None:
        self.direction = direction

    def __call__(self, u: float, v: float) -> Point:
        return (u, v) if self.direction == "LR" else (v, -u)


# --------------------------------------------------------------------------- shared helpers


def _graph(name: str, theme: Theme, title: str, engine: str = PINNED_ENGINE) -> graphviz.Digraph:
    graph = graphviz.Digraph(
        name=name,
        engine=engine,
        comment="densevis: pinned layout, render with `neato -n2 -Tsvg`"
        if engine == PINNED_ENGINE else "densevis",
    )
    graph.attr(
        bgcolor=theme.background,
        fontname=theme.font_family,
        fontcolor=theme.foreground,
        fontsize=str(theme.font_size + 5),
        label=title,
        labelloc="t",
        labeljust="l",
        pad="0.3",
        outputorder="edgesfirst",
    )
    if engine == PINNED_ENGINE:
        graph.attr(splines="true", inputscale="72", notranslate="false")
    graph.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fontname=theme.font_family,
        fontsize=str(theme.font_size),
        fontcolor=theme.foreground,
        color=theme.foreground,
        fillcolor=theme.node_fill,
        penwidth="1.2",
    )
    graph.attr("edge", color=theme.edge_color, fontname=theme.font_family,
               fontsize=str(theme.font_size - 1), fontcolor=theme.muted, arrowsize="0.6")
    return graph


def _pinned_node(graph: graphviz.Digraph, name: str, center: Point, width: float,
                 height: float, label: str, **attrs: str) -> None:
    graph.node(name, label=label, pos=_fmt(center) + "!", width=f"{width / 72:.3f}",
               height=f"{height / 72:.3f}", fixedsize="true", **attrs)


def _dense_rows(trace: Trace) -> dict[str, DenseLayerSummary]:
    return {row.name: row for row in trace.dense_layers()}


def _ops(trace: Trace, block: int, position: int) -> list[Op]:
    return [op for op in trace.ops if op.block == block and op.position == position]


def _latency(names: Sequence[str], latency_ms: Mapping[str, float] | None) -> float | None:
    if not latency_ms:
        return None
    values = [latency_ms[name] for name in names if name in latency_ms]
    return sum(values) if values else None


def _dense_latency(trace: Trace, row: DenseLayerSummary,
                   latency_ms: Mapping[str, float] | None) -> float | None:
    if not latency_ms:
        return None
    if row.name in latency_ms:
        return latency_ms[row.name]
    return _latency([op.name for op in _ops(trace, row.block, row.position)], latency_ms)


def _metric(row: DenseLayerSummary, metric: str, latency: float | None) -> float:
    return {"params": row.params, "macs": row.macs, "activation": row.activation_bytes,
            "latency": latency or 0.0}[metric]


def _metric_text(metric: str, value: float) -> str:
    if metric == "activation":
        return format_bytes(value)
    if metric == "latency":
        return f"{value:.3g} ms"
    return format_si(value, 2)


_METRIC_TITLES = {"params": "parameters", "macs": "MACs", "activation": "activation memory",
                  "latency": "latency"}


class _Colorizer:
    """Node fill by a metric, min..max over the values given, plus its legend."""

    def __init__(self, metric: str | None, values: Sequence[float], theme: Theme) -> None:
        self.metric = metric
        self.theme = theme
        self.low = min(values) if values else 0.0
        self.high = max(values) if values else 0.0

    def fill(self, value: float) -> str | None:
        if self.metric is None:
            return None
        span = self.high - self.low
        return self.theme.metric_color((value - self.low) / span if span else 1.0)

    def legend_label(self) -> str:
        """An HTML-like table: the metric's name and five colour steps with their values."""
        cells = []
        for step in range(5):
            value = self.low + (self.high - self.low) * step / 4
            color = self.theme.metric_color(step / 4)
            cells.append(
                f'<TD BGCOLOR="{color}" WIDTH="58"><FONT COLOR="{self.theme.text_on(color)}">'
                f"{_metric_text(self.metric or '', value)}</FONT></TD>"
            )
        return (
            '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
            f'<TR><TD COLSPAN="5">colour: {_METRIC_TITLES[self.metric or "params"]} '
            f"per layer</TD></TR><TR>{''.join(cells)}</TR></TABLE>>"
        )


def _layer_lines(row: DenseLayerSummary, show: Sequence[str], latency: float | None) -> list[str]:
    """A dense layer's node text: name, then input channels, params, MACs, ms (as shown)."""
    lines = [f"H{row.position}"]
    if "shape" in show:
        lines.append(str(row.in_channels))
    if "params" in show:
        lines.append(format_compact(row.params))
    if "macs" in show:
        lines.append(format_compact(row.macs))
    if "latency" in show and latency is not None:
        lines.append(f"{latency:.2f}ms")
    return lines


def _layer_key(show: Sequence[str], latency: bool) -> str:
    """What the lines of a dense layer's node mean."""
    parts = ["layer"]
    parts += [text for name, text in (("shape", "input channels k0 + k(l-1)"),
                                      ("params", "parameters"), ("macs", "MACs"),
                                      ("latency", "latency")) if name in show
              and (name != "latency" or latency)]
    return "node lines: " + " / ".join(parts)


def _label(lines: Sequence[str]) -> str:
    return "\n".join(lines)


def _highlight_target(trace: Trace, highlight: str | None) -> tuple[int, int] | None:
    """(block, position) of the highlighted dense layer; DenseVisError if it does not exist."""
    if not highlight:
        return None
    name = highlight if highlight.startswith("features.") else f"features.{highlight}"
    for row in trace.dense_layers():
        if row.name == name:
            return row.block, row.position
    raise DenseVisError(
        f"no dense layer named {highlight!r}; names look like features.denseblock2.denselayer3"
    )


# --------------------------------------------------------------------------- arcs


@dataclass(frozen=True)
class _Line:
    """One block laid out on a line: node centres along u, shared width, the arc scale."""

    centers: Sequence[float]  # u of x0 (index 0), H1..HL, and the output concat (L + 1)
    width: float  # node extent along u
    depth: float  # node extent across the line (v)
    base: float  # v of the node centres
    arc_scale: float  # arc height per point of span


def _attach(line: _Line, index: int, slot: int, slots: int, outgoing: bool) -> float:
    """u where a link leaves (right half) or enters (left half) node `index`."""
    half = line.width / 2 - 4
    offset = half / 2 if slots <= 1 else 2 + (half - 2) * slot / (slots - 1)
    return line.centers[index] + offset if outgoing else line.centers[index] - offset


def _arc(line: _Line, frame: _Frame, source: int, target: int, last: int) -> str:
    """A Bezier arc above the line from `source` to `target` (indices on the line).

    Longer links start nearer the source's centre and end nearer the target's centre, so
    arcs from one node nest instead of crossing at their feet.
    """
    outs = last - source  # links leaving source: targets source+1..last
    ins = target  # links entering target: sources 0..target-1
    start_u = _attach(line, source, slot=last - target, slots=outs, outgoing=True)
    end_u = _attach(line, target, slot=source, slots=ins, outgoing=False)
    top = line.base + line.depth / 2
    height = line.arc_scale * (end_u - start_u) + 12
    # half an ellipse as two cubics (control points stay inside the ellipse's box, so the
    # drawing's bounding box hugs the arcs)
    kappa = 0.5523
    middle, radius = (start_u + end_u) / 2, (end_u - start_u) / 2
    peak = top + height
    end_v = top + _ARROW
    points = [
        (start_u, top), (start_u, top + height * kappa), (middle - radius * kappa, peak),
        (middle, peak), (middle + radius * kappa, peak), (end_u, end_v + (peak - end_v) * kappa),
        (end_u, end_v),
    ]
    return _spline([frame(u, v) for u, v in points], end=frame(end_u, top))


def _add_links(graph: graphviz.Digraph, trace: Trace, block: int, line: _Line, frame: _Frame,
               node_names: Sequence[str], theme: Theme, focus: int | None) -> None:
    """Every link of one block (sources 0..L into H1..HL and the output concat) as arcs,
    coloured by source; with a focused layer, only its inputs and consumers keep colour."""
    count = trace.block(block).dense_layers
    colors = theme.source_colors(count + 1)
    width = "1.1" if count <= 30 else "0.6"
    links = [(link, LINK_CLASS) for link in trace.block_links(block)]
    links += [(link, OUTPUT_LINK_CLASS) for link in trace.output_links if link.block == block]
    ks = {row.position: row.out_channels for row in trace.dense_layers(block)}
    k0 = trace.block(block).k0
    for link, css in links:
        touches = focus is not None and focus in (link.source, link.target)
        color, pen = with_alpha(colors[link.source], 0.85), width
        if focus is not None:
            color, pen = (colors[link.source], "2.2") if touches else (theme.edge_dim, "0.6")
        source_name = "x0" if link.source == 0 else f"H{link.source}"
        target_name = "output" if css == OUTPUT_LINK_CLASS else f"H{link.target}"
        channels = k0 if link.source == 0 else ks[link.source]
        graph.edge(
            node_names[link.source], node_names[link.target],
            pos=_arc(line, frame, link.source, link.target, count + 1),
            color=color, penwidth=pen, arrowsize="0.35", **{"class": css},
            tooltip=f"{source_name} → {target_name}: {channels} channels",
        )


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class _Box:
    """One overview box: a stage, or a group of stem/head ops (conv, pool, classifier)."""

    key: str
    kind: str  # input, stem, block, transition, head
    lines: tuple[str, ...]
    title: str
    ops: tuple[Op, ...]


def _op_title(group: Sequence[Op], trace: Trace) -> str:
    first = group[0]
    norm_relu = any(op.kind in ("batchnorm", "relu") for op in group[1:])
    if first.kind == "conv" and first.kernel:
        title = f"{first.kernel[0]}×{first.kernel[1]} conv"
        if first.stride and first.stride[0] > 1:
            title += f", stride {first.stride[0]}"
        return title + (" + BN-ReLU" if norm_relu else "")
    if first.kind == "maxpool" and first.kernel:
        return f"{first.kernel[0]}×{first.kernel[1]} max pool"
    if first.kind == "avgpool":
        shape = first.output_shape
        spatial = len(shape) == 4 and shape[2] == shape[3] == 1
        return "global average pool" if spatial else "average pool"
    if first.kind == "linear":
        return f"classifier ({trace.config.num_classes} classes)"
    if first.kind in ("batchnorm", "relu"):
        return "BN-ReLU"
    return first.kind


def _split_ops(ops: Sequence[Op]) -> list[list[Op]]:
    """Stem/head ops into boxes: every conv, pool or linear starts one; BN/ReLU join it."""
    groups: list[list[Op]] = []
    for op in ops:
        starts = op.kind in ("conv", "maxpool", "avgpool", "linear")
        if not groups or starts or groups[-1][-1].kind not in ("conv", "batchnorm", "relu"):
            groups.append([op])
        else:
            groups[-1].append(op)
    return groups


def _shape_text(shape: Sequence[int]) -> str:
    return f"{shape[2]}×{shape[3]}" if len(shape) == 4 else "vector"


def _overview_boxes(trace: Trace, options: DiagramOptions) -> list[_Box]:
    show = options.show
    config = trace.config
    boxes = [_Box("input", "input", (
        "input image", f"{config.in_channels} ch, {config.input_size[0]}×{config.input_size[1]}",
    ), "input", ())]

    def numbers(ops: Sequence[Op], in_ch: int, out_ch: int, shape: Sequence[int]) -> list[str]:
        lines = []
        if "shape" in show:
            lines.append(f"{in_ch} → {out_ch} ch, {_shape_text(shape)}")
        if "params" in show:
            lines.append(f"{format_si(sum(o.params for o in ops), 2)} params")
        if "macs" in show:
            lines.append(f"{format_si(sum(o.macs for o in ops), 2)} MACs")
        if "latency" in show:
            latency = _latency([o.name for o in ops], options.latency_ms)
            if latency is not None:
                lines.append(f"{latency:.2f} ms")
        return [line.replace("0 params", "0 params") for line in lines]

    for stage in trace.stages():
        ops = tuple(op for op in trace.ops if op.stage == stage.name)
        if stage.kind in ("stem", "head"):
            for index, group in enumerate(_split_ops(ops)):
                title = _op_title(group, trace)
                boxes.append(_Box(f"{stage.name}{index}", stage.kind, (
                    title, *numbers(group, group[0].in_channels, group[-1].out_channels,
                                    group[-1].output_shape)), title, tuple(group)))
        else:
            count = (f"{stage.dense_layers} dense layers" if stage.kind == "block"
                     else "BN-ReLU, 1×1 conv, avg pool")
            boxes.append(_Box(stage.name, stage.kind, (
                stage.title, count, *numbers(ops, stage.in_channels, stage.out_channels,
                                             stage.output_shape)), stage.title, ops))
    return boxes


def overview_diagram(trace: Trace, options: DiagramOptions | None = None) -> graphviz.Digraph:
    """Input, stem ops, dense blocks, transitions and head ops: one box each, in reading order
    (rows for LR, columns for TB) so the whole network fits a 16:9 slide."""
    options = options or DiagramOptions()
    theme = get_theme(options.theme)
    boxes = _overview_boxes(trace, options)
    totals = trace.totals
    title = (f"{trace.config.label}: {format_si(totals.params, 2)} params, "
             f"{format_si(totals.macs, 2)} MACs, depth {totals.depth}")
    graph = _graph("overview", theme, title)
    font = theme.font_size + 2
    graph.attr("node", fontsize=str(font))
    width = max(_node_width([line], font) for box in boxes for line in box.lines)
    height, gap_u, gap_v = (font + 5.0) * max(len(b.lines) for b in boxes) + 16, 34.0, 44.0
    across_u = width if options.direction == "LR" else height
    across_v = height if options.direction == "LR" else width
    # pick the wrap length whose picture is closest to 16:9
    best = 1
    best_error = math.inf
    for per_line in range(1, len(boxes) + 1):
        lines = math.ceil(len(boxes) / per_line)
        long_side = per_line * (across_u + gap_u)
        short_side = lines * (across_v + gap_v)
        wide, tall = (long_side, short_side) if options.direction == "LR" else (
            short_side, long_side)
        error = abs(math.log((wide / tall) / (16 / 9)))
        if lines > 1 and per_line * lines - len(boxes) >= per_line:
            continue
        if error < best_error:
            best, best_error = per_line, error

    def center(index: int) -> Point:
        line, step = divmod(index, best)
        along = step * (across_u + gap_u)
        across = line * (across_v + gap_v)
        return (along, -across) if options.direction == "LR" else (across, -along)

    metric = options.color_by
    values = []
    if metric:
        for box in boxes[1:]:
            values.append(_box_metric(box, metric, options.latency_ms))
    colorizer = _Colorizer(metric, values, theme)
    for index, box in enumerate(boxes):
        fill = theme.stage_fill(box.kind)
        if metric and index > 0:
            fill = colorizer.fill(values[index - 1]) or fill
        _pinned_node(graph, box.key, center(index), width, height, _label(box.lines),
                     fillcolor=fill, fontcolor=theme.text_on(fill)
                     if fill != "transparent" and metric else theme.foreground,
                     tooltip=box.title, **{"class": f"stage {box.kind}"})
    for index in range(len(boxes) - 1):
        (xa, ya), (xb, yb) = center(index), center(index + 1)
        if options.direction == "LR":
            if ya == yb:
                points = [(xa + width / 2, ya), (xb - width / 2, yb)]
            else:  # wrap: down into the gap, back to the left, down into the next row
                mid = ya - height / 2 - gap_v / 2
                points = [(xa, ya - height / 2), (xa, mid), (xb, mid), (xb, yb + height / 2)]
        else:
            if xa == xb:
                points = [(xa, ya - height / 2), (xb, yb + height / 2)]
            else:
                mid = xa + width / 2 + gap_v / 2
                points = [(xa + width / 2, ya), (mid, ya), (mid, yb), (xb - width / 2, yb)]
        graph.edge(boxes[index].key, boxes[index + 1].key, pos=_arrow_path(points),
                   penwidth="1.6", arrowsize="0.9")
    if metric:
        last = center(len(boxes) - 1)
        spot = (last[0] + across_u + gap_u + 60, last[1]) if options.direction == "LR" else (
            last[0], last[1] - across_u - gap_u)
        graph.node("legend", label=colorizer.legend_label(), shape="plaintext",
                   pos=_fmt(spot) + "!", style="", fontcolor=theme.foreground)
    return graph


def _box_metric(box: _Box, metric: str, latency_ms: Mapping[str, float] | None) -> float:
    if metric == "latency":
        return _latency([op.name for op in box.ops], latency_ms) or 0.0
    attr = {"params": "params", "macs": "macs", "activation": "activation_bytes"}[metric]
    return float(sum(getattr(op, attr) for op in box.ops))


# --------------------------------------------------------------------------- block


def _node_width(lines: Sequence[str], font_size: float) -> float:
    """Points needed for the longest line (DejaVu Sans averages ~0.6 em per character)."""
    return max(40.0, max(len(line) for line in lines) * font_size * 0.6 + 10)


def block_diagram(trace: Trace, block: int, options: DiagramOptions | None = None
                  ) -> graphviz.Digraph:
    """One dense block: x0, H1..HL on a line, all L(L+1)/2 links and the L+1 links into the
    output concatenation as arcs coloured by source, then the transition (or head)."""
    options = options or DiagramOptions()
    theme = get_theme(options.theme)
    info = trace.block(block)
    rows = trace.dense_layers(block)
    frame = _Frame(options.direction)
    focus_at = _highlight_target(trace, options.highlight)
    focus = focus_at[1] if focus_at and focus_at[0] == block else None
    latencies = [_dense_latency(trace, row, options.latency_ms) for row in rows]
    layer_lines = [_layer_lines(row, options.show, lat) for row, lat in zip(rows, latencies,
                                                                            strict=True)]
    x0_lines = ["x0", str(info.k0)]
    out_lines = ["out", str(info.out_channels)]
    font = theme.font_size + 3  # big enough to read when the block is shrunk onto a slide
    width = max(_node_width(lines, font) for lines in [*layer_lines, x0_lines, out_lines])
    depth = len(max(layer_lines, key=len)) * (font + 3) + 10
    if options.direction == "TB":
        width, depth = depth, width  # u runs downwards: nodes are short along it
    step = width + 8
    count = info.dense_layers
    centers = [index * step for index in range(count + 2)]
    line = _Line(centers, width, depth, 0.0, arc_scale=0.42 if options.direction == "LR"
                 else 0.3)
    title = (f"Dense block {block} of {trace.config.label}: L = {count}, k = {info.growth_rate}, "
             f"k0 = {info.k0}, {info.links} links + {info.output_links} into the output, "
             f"{info.height}×{info.width}")
    graph = _graph(f"block{block}", theme, title)
    graph.attr("node", fontsize=str(font))
    metric = options.color_by
    values = [_metric(row, metric, lat) for row, lat in zip(rows, latencies, strict=True)
              ] if metric else []
    colorizer = _Colorizer(metric, values, theme)
    source_colors = theme.source_colors(count + 1)
    names = [f"b{block}_x0", *[f"b{block}_h{row.position}" for row in rows], f"b{block}_out"]
    box_w, box_h = (width, depth) if options.direction == "LR" else (depth, width)

    def role_fill(index: int) -> str | None:
        if focus is None or index == focus or metric:  # a metric keeps its own fill
            return None
        if index < focus:
            return theme.input_fill
        return theme.consumer_fill

    _pinned_node(graph, names[0], frame(centers[0], 0), box_w, box_h, _label(x0_lines),
                 fillcolor=role_fill(0) or theme.stage_fill("stem"), color=source_colors[0],
                 penwidth="2.4", tooltip=f"block input x0: {info.k0} channels",
                 **{"class": "block-input"})
    for index, (row, lines) in enumerate(zip(rows, layer_lines, strict=True), start=1):
        fill = role_fill(index) or (colorizer.fill(values[index - 1]) if metric else None) \
            or theme.stage_fill("block")
        outline, pen = source_colors[index], "2.4"
        if focus == index:
            outline, pen = theme.highlight, "4"
        _pinned_node(graph, names[index], frame(centers[index], 0), box_w, box_h, _label(lines),
                     fillcolor=fill, color=outline, penwidth=pen,
                     fontcolor=theme.text_on(fill) if theme.background != "transparent"
                     or metric else theme.foreground,
                     tooltip=f"{row.name}: {row.in_channels} → {row.out_channels} channels, "
                             f"{row.params:,} params, {row.macs:,} MACs",
                     **{"class": "dense-layer"})
    _pinned_node(graph, names[-1], frame(centers[-1], 0), box_w, box_h, _label(out_lines),
                 fillcolor=role_fill(count + 1) or theme.stage_fill("block"),
                 tooltip=f"block output: concatenation of x0, H1..H{count}",
                 **{"class": "block-output"})
    _add_links(graph, trace, block, line, frame, names, theme, focus)
    # the block output feeds the transition (or the head after the last block)
    is_last = block == len(trace.blocks)
    next_title = "head: BN-ReLU, pool, classifier" if is_last else f"transition {block}"
    stage = "head" if is_last else f"transition{block}"
    next_out = next((s.out_channels for s in trace.stages() if s.name == stage), None)
    next_lines = [next_title] + ([f"→ {next_out} ch"] if next_out is not None else [])
    next_w = max(_node_width(next_lines, theme.font_size), 90.0)
    next_center = centers[-1] + step / 2 + next_w / 2 + 30 if options.direction == "LR" \
        else centers[-1] + step / 2 + 50
    _pinned_node(graph, "next", frame(next_center, 0),
                 next_w if options.direction == "LR" else max(next_w, box_w), 40,
                 _label(next_lines), fillcolor=theme.stage_fill("head" if is_last
                                                               else "transition"),
                 **{"class": "next-stage"})
    half = box_w / 2 if options.direction == "LR" else box_h / 2
    start = frame(centers[-1] + half, 0)
    end = frame(next_center - (next_w / 2 if options.direction == "LR" else 20), 0)
    graph.edge(names[-1], "next", pos=_arrow_path([start, end]), penwidth="1.6")
    key = (_layer_key(options.show, bool(options.latency_ms)) + "  ·  link colour = the layer "
           "whose output it carries (that layer's outline); arcs enter a layer on its left")
    _legend(graph, theme, frame, colorizer if metric else None, key,
            -(box_h if options.direction == "LR" else box_w) / 2 - 24, centers[0])
    return graph


def _legend(graph: graphviz.Digraph, theme: Theme, frame: _Frame, colorizer: _Colorizer | None,
            text: str, v: float, u: float) -> None:
    """Below the line (LR) or beside it (TB): how to read nodes and link colours, and the
    metric scale when colouring."""
    font = theme.font_size + 3
    half = len(text) * font * 0.27
    if frame.direction == "LR":
        center, spot = frame(u + half - 20, v), frame(u + 180, v - 50)
    else:
        center, spot = (-v + half - 20, -u + 40), (-v + 180, -u + 90)
    graph.node("key", label=text, shape="plaintext", style="", pos=_fmt(center) + "!",
               fontcolor=theme.muted, fontsize=str(font))
    if colorizer is not None:
        graph.node("legend", label=colorizer.legend_label(), shape="plaintext", style="",
                   pos=_fmt(spot) + "!", fontcolor=theme.foreground)


# --------------------------------------------------------------------------- layer


def _op_lines(op: Op, show: Sequence[str], latency_ms: Mapping[str, float] | None,
              sources: int = 0) -> list[str]:
    if op.kind == "concat":
        lines = ["concat", f"{op.out_channels} ch from {sources} input(s)"]
    elif op.kind == "conv" and op.kernel:
        lines = [f"{op.kernel[0]}×{op.kernel[1]} conv", f"{op.in_channels} → {op.out_channels} ch"]
    elif op.kind == "batchnorm":
        lines = ["BN", f"{op.out_channels} ch"]
    elif op.kind == "relu":
        lines = ["ReLU"]
    else:
        lines = [op.kind]
    if "shape" in show and len(op.output_shape) == 4:
        lines.append(f"{op.output_shape[2]}×{op.output_shape[3]}")
    if "params" in show and op.params:
        lines.append(f"{op.params:,} params")
    if "macs" in show and op.macs:
        lines.append(f"{format_si(op.macs, 2)} MACs")
    if "latency" in show and latency_ms and op.name in latency_ms:
        lines.append(f"{latency_ms[op.name]:.3f} ms")
    return lines


def layer_diagram(trace: Trace, block: int, position: int,
                  options: DiagramOptions | None = None) -> graphviz.Digraph:
    """Inside dense layer H_position of a block: its inputs, concat, BN, ReLU, 1×1 conv
    (bn_size·k), BN, ReLU, 3×3 conv (k), with the traced channel numbers."""
    options = options or DiagramOptions()
    theme = get_theme(options.theme)
    info = trace.block(block)
    ops = _ops(trace, block, position)
    row = next(r for r in trace.dense_layers(block) if r.position == position)
    title = (f"Dense layer H{position} of block {block} ({row.name}): "
             f"{row.in_channels} channels in, {row.out_channels} out")
    graph = _graph(f"layer_b{block}_l{position}", theme, title, engine="dot")
    graph.attr(rankdir=options.direction, nodesep="0.3", ranksep="0.35")
    colors = theme.source_colors(info.dense_layers + 1)
    previous = [f"x0 (block input)\n{info.k0} ch"] + [
        f"H{index}\n{info.growth_rate} ch" for index in range(1, position)
    ]
    with graph.subgraph(name="cluster_inputs") as inputs:
        inputs.attr(label="inputs reused", color=theme.muted, fontcolor=theme.muted,
                    style="rounded,dashed", fontsize=str(theme.font_size))
        for index, text in enumerate(previous):
            inputs.node(f"in{index}", label=text, color=colors[index], penwidth="2.4",
                        fillcolor=theme.stage_fill("stem" if index == 0 else "block"))
    metric = options.color_by
    values = [_op_metric(op, metric, options.latency_ms) for op in ops] if metric else []
    colorizer = _Colorizer(metric, values, theme)
    concat = next((op for op in ops if op.kind == "concat"), None)
    for index, op in enumerate(ops):
        fill = colorizer.fill(values[index]) if metric else None
        fill = fill or (theme.stage_fill("transition") if op.kind == "conv"
                        else theme.node_fill)
        graph.node(f"op{index}", label=_label(_op_lines(op, options.show, options.latency_ms,
                                                        len(concat.sources) if concat else 0)),
                   fillcolor=fill, fontcolor=theme.text_on(fill) if metric
                   else theme.foreground, tooltip=op.name, **{"class": f"op {op.kind}"})
        if index:
            channels = ops[index - 1].out_channels
            graph.edge(f"op{index - 1}", f"op{index}", label=f" {channels} ")
    for index in range(len(previous)):
        graph.edge(f"in{index}", "op0", color=colors[index], penwidth="1.6")
    consumers = [f"H{index}" for index in range(position + 1, info.dense_layers + 1)]
    reuse = (f"{consumers[0]}…{consumers[-1]} and the block output" if consumers
             else "the block output")
    graph.node("out", label=f"output: {row.out_channels} new channels\nreused by {reuse}",
               color=colors[position], penwidth="2.4", fillcolor=theme.stage_fill("block"))
    graph.edge(f"op{len(ops) - 1}", "out", label=f" {row.out_channels} ",
               color=colors[position], penwidth="1.6")
    if metric:
        graph.node("legend", label=colorizer.legend_label(), shape="plaintext", style="")
    return graph


def _op_metric(op: Op, metric: str, latency_ms: Mapping[str, float] | None) -> float:
    if metric == "latency":
        return (latency_ms or {}).get(op.name, 0.0)
    return float({"params": op.params, "macs": op.macs,
                  "activation": op.activation_bytes}[metric])


# --------------------------------------------------------------------------- full network


def _expanded_lines(trace: Trace, row: DenseLayerSummary) -> list[str]:
    lines = [f"H{row.position}  {row.in_channels} ch"]
    for op in _ops(trace, row.block, row.position):
        if op.kind == "conv" and op.kernel:
            lines.append(f"{op.kernel[0]}×{op.kernel[1]} conv → {op.out_channels}")
        elif op.kind == "batchnorm":
            lines.append(f"BN {op.out_channels}")
        elif op.kind == "relu":
            lines.append("ReLU")
    return lines


def full_diagram(trace: Trace, options: DiagramOptions | None = None) -> graphviz.Digraph:
    """Every dense layer as one node (its ops listed with expand=True), every dense link of
    every block as an arc, one block per row (column for TB), transitions between rows."""
    options = options or DiagramOptions()
    theme = get_theme(options.theme)
    frame = _Frame(options.direction)
    focus = _highlight_target(trace, options.highlight)
    rows_by_block = {b.index: trace.dense_layers(b.index) for b in trace.blocks}
    all_rows = [row for rows in rows_by_block.values() for row in rows]
    latency = {row.name: _dense_latency(trace, row, options.latency_ms) for row in all_rows}
    metric = options.color_by
    colorizer = _Colorizer(metric, [_metric(r, metric, latency[r.name]) for r in all_rows]
                           if metric else [], theme)

    def lines_of(row: DenseLayerSummary) -> list[str]:
        if options.expand:
            return _expanded_lines(trace, row)
        return _layer_lines(row, options.show, latency[row.name])

    font = theme.font_size + 2
    stages = {stage.name: stage for stage in trace.stages()}
    stem_groups = _split_ops([op for op in trace.ops if op.stage == "stem"])
    head_groups = _split_ops([op for op in trace.ops if op.stage == "head"])

    def lead_of(block: int) -> list[tuple[str, list[str], str]]:
        """What sits before H1 on a block's line: input and stem ops, or the transition."""
        if block == 1:
            config = trace.config
            items = [("input", ["input", f"{config.in_channels}×{config.input_size[0]}²"],
                      "input")]
            for index, group in enumerate(stem_groups):
                title = _op_title(group, trace).replace(" + BN-ReLU", "")
                items.append((f"stem{index}", [title.split(",")[0],
                                               f"→ {group[-1].out_channels} ch"], "stem"))
            return items
        stage = stages[f"transition{block - 1}"]
        return [(f"transition{block - 1}", [stage.title, f"{stage.in_channels} → "
                                            f"{stage.out_channels}"], "transition")]

    head = [(f"head{index}", [_op_title(group, trace).split(" (")[0].replace(
        "global average pool", "avg pool"), f"→ {group[-1].out_channels}"], "head")
        for index, group in enumerate(head_groups)]
    all_lines = [lines_of(row) for row in all_rows]
    extra_lines = [lines for b in trace.blocks for _, lines, _ in lead_of(b.index)]
    extra_lines += [lines for _, lines, _ in head]
    layer_w = max(_node_width(lines, font) for lines in all_lines)
    layer_h = max(len(lines) for lines in all_lines) * (font + 3) + 10

    def size(lines: Sequence[str], uniform: bool) -> tuple[float, float]:
        """(graphviz width, height) of a node in points."""
        if uniform:
            return layer_w, layer_h
        return _node_width(lines, font), len(lines) * (font + 3) + 10

    if options.direction == "LR":
        across = layer_h  # every node shares the height, so arcs leave from one top line
    else:
        across = max(layer_w, *(_node_width(lines, font) for lines in extra_lines))
    gap = 8.0
    arc_scale = 0.22
    totals = trace.totals
    graph = _graph("full", theme, f"{trace.config.label}: every dense layer and link "
                                  f"({len(all_rows)} dense layers, {len(trace.links)} links, "
                                  f"{format_si(totals.params, 2)} params)")
    graph.attr("node", fontsize=str(font))
    offset = 0.0  # where the current block's line starts across (LR: rows go down)
    previous_end: tuple[str, float, float] | None = None
    for block in trace.blocks:
        rows = rows_by_block[block.index]
        lead = lead_of(block.index)
        tail = head if block.index == len(trace.blocks) else []
        items = [(name, lines, kind, False) for name, lines, kind in lead]
        items += [(f"b{block.index}_h{row.position}", lines_of(row), "block", True)
                  for row in rows]
        items += [(f"b{block.index}_out", ["out", f"{block.out_channels}"],
                   "output", True)]
        items += [(name, lines, kind, False) for name, lines, kind in tail]
        sizes = []
        for _, lines, _, uniform in items:
            node_w, node_h = size(lines, uniform)
            if options.direction == "LR":
                sizes.append((node_w, across))
            else:
                sizes.append((across, node_h))
        along = [w if options.direction == "LR" else h for w, h in sizes]
        centers_all = []
        position = 0.0
        for index, extent in enumerate(along):
            if index:
                position += along[index - 1] / 2 + gap + extent / 2
            centers_all.append(position)
        first = len(lead) - 1  # source 0 of the block: the last lead node
        centers = centers_all[first:first + block.dense_layers + 2]
        line_width = layer_w if options.direction == "LR" else layer_h
        height = arc_scale * (centers[-1] - centers[0]) + 12 + across / 2
        base = offset - height
        line = _Line(centers, line_width, across, base, arc_scale)
        names = [item[0] for item in items[first:first + block.dense_layers + 2]]
        source_colors = theme.source_colors(block.dense_layers + 1)
        for index, ((name, lines, kind, _), (node_w, node_h), u) in enumerate(
                zip(items, sizes, centers_all, strict=True)):
            attrs: dict[str, str] = {"class": f"stage {kind}"}
            fill = theme.stage_fill("block" if kind == "output" else kind)
            position_in_block = index - first
            if kind == "block":
                row = rows[position_in_block - 1]
                attrs = {"class": "dense-layer", "color": source_colors[position_in_block],
                         "penwidth": "2",
                         "tooltip": f"{row.name}: {row.in_channels} → {row.out_channels} ch"}
                if metric:
                    fill = colorizer.fill(_metric(row, metric, latency[row.name])) or fill
                    attrs["fontcolor"] = theme.text_on(fill)
                if focus is not None and focus[0] == block.index:
                    if position_in_block == focus[1]:
                        attrs["color"], attrs["penwidth"] = theme.highlight, "4"
                    elif metric is None:
                        fill = (theme.input_fill if position_in_block < focus[1]
                                else theme.consumer_fill)
            elif position_in_block == 0:
                attrs["color"], attrs["penwidth"] = source_colors[0], "2"
            _pinned_node(graph, name, frame(u, base), node_w, node_h, _label(lines),
                         fillcolor=fill, **attrs)
        block_focus = focus[1] if focus is not None and focus[0] == block.index else None
        _add_links(graph, trace, block.index, line, frame, names, theme, block_focus)
        # the plain chain: input -> stem ops -> source 0, and output -> head ops
        chain = list(range(first + 1)) + list(range(first + block.dense_layers + 1, len(items)))
        for a, b in zip(chain, chain[1:], strict=False):
            if b != a + 1:
                continue
            graph.edge(items[a][0], items[b][0], pos=_arrow_path([
                frame(centers_all[a] + along[a] / 2, base),
                frame(centers_all[b] - along[b] / 2, base)]))
        if previous_end is not None:  # the previous block's output feeds this transition
            name, end_u, end_v = previous_end
            middle = end_v - across / 2 - 20
            graph.edge(name, items[0][0], penwidth="1.6", pos=_arrow_path([
                frame(end_u, end_v - across / 2), frame(end_u, middle),
                frame(centers_all[0], middle), frame(centers_all[0], base + across / 2)]))
        previous_end = (names[-1], centers[-1], base)
        offset = base - across / 2 - 50
    key = _layer_key(options.show, bool(options.latency_ms)) if not options.expand else \
        "node lines: layer, input channels, then its ops"
    _legend(graph, theme, frame, colorizer if metric else None,
            key + "  ·  link colour = the layer whose output it carries", offset, 0.0)
    return graph


# --------------------------------------------------------------------------- dispatch


def diagram(trace: Trace, view: str, block: int = 1, layer: int = 1,
            options: DiagramOptions | None = None) -> graphviz.Digraph:
    """The named view, after checking the view name and the block / layer numbers."""
    if view not in VIEWS:
        raise DenseVisError(f"unknown view {view!r}; use one of {', '.join(VIEWS)}")
    builders: dict[str, Callable[[], graphviz.Digraph]] = {
        "overview": lambda: overview_diagram(trace, options),
        "full": lambda: full_diagram(trace, options),
        "block": lambda: block_diagram(trace, block, options),
        "layer": lambda: layer_diagram(trace, block, layer, options),
    }
    if view in ("block", "layer"):
        count = len(trace.blocks)
        if not isinstance(block, int) or not 1 <= block <= count:
            raise DenseVisError(f"block {block} is out of range: this model has blocks 1 to "
                                f"{count}")
        if view == "layer":
            layers = trace.block(block).dense_layers
            if not isinstance(layer, int) or not 1 <= layer <= layers:
                raise DenseVisError(f"layer {layer} is out of range: block {block} has layers "
                                    f"1 to {layers}")
    return builders[view]()
