"""The same view of several configs on one shared scale, for drawing side by side: each view
top to bottom, every box as wide as the channels it stands for, so a larger k is visibly
wider. Built on the diagram layouts (render/layout.py); plain data, drawn by any emitter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render.configs import config_names
from densevis.render.layout import (
    DiagramOptions,
    Edge,
    Layout,
    Node,
    block_layout,
    overview_layout,
    polyline,
    text_size,
)
from densevis.render.tables import differing_stages

COMPARE_VIEWS = ("overview", "block")  # views that several configs share
WIDEST_BOX = {"overview": 640.0, "block": 420.0}  # points: the box with the most channels
KEY = "box width ∝ channels, on one scale for every config"
_GAP = 22.0  # points between boxes of the overview column


def node_channels(trace: Trace, node: Node) -> int | None:
    """The channels a box stands for: a dense layer's input k0 + k(l-1), a block's or stage's
    output, an op's output; None for boxes without channels."""
    if node.role == "dense-layer" and node.block and node.position:
        return trace.dense_layers(node.block)[node.position - 1].in_channels
    if node.role == "block-input" and node.block:
        return trace.block(node.block).k0
    if node.role in ("block", "block-output") and node.block:
        return trace.block(node.block).out_channels
    if node.id == "input":
        return trace.input_shape[1] if len(trace.input_shape) > 1 else None
    stages = {stage.name: stage for stage in trace.stages()}
    stage = stages.get(node.id.removeprefix("features."))
    if stage is not None:
        return stage.out_channels
    try:
        return trace.op(node.id).out_channels
    except KeyError:
        return None


def node_stage(trace: Trace, node: Node) -> str | None:
    """The stage (stem, blockN, transitionN, head) an overview box belongs to."""
    name = node.id.removeprefix("features.")
    if name.startswith("dense"):
        name = name.removeprefix("dense")
    if any(stage.name == name for stage in trace.stages()):
        return name
    try:
        return trace.op(node.id).stage
    except KeyError:
        return None


def _widen(layout: Layout, trace: Trace, per_channel: float) -> Layout:
    """Boxes as wide as their channels (never narrower than their text), left edges kept, so
    the links that enter on the left still meet them."""
    nodes = []
    for node in layout.nodes:
        channels = node_channels(trace, node)
        width = max(node.w, channels * per_channel) if channels else node.w
        nodes.append(replace(node, x=node.x - node.w / 2 + width / 2, w=width))
    return replace(layout, nodes=tuple(nodes))


def _column(layout: Layout, keep: Sequence[str] | None, trace: Trace,
            focus: str | None) -> Layout:
    """An overview as one column (boxes left-aligned, in network order), optionally only the
    boxes of the stages in `keep`, with the box `focus` highlighted."""
    shown = [n for n in layout.nodes if keep is None or node_stage(trace, n) in keep]
    nodes, top = [], 0.0
    for node in shown:
        channels = node_channels(trace, node)
        lines = (node.lines[0], f"{channels} ch") if channels else node.lines[:2]
        width, height = text_size(lines, layout.font)
        nodes.append(replace(node, x=width / 2, y=top + height / 2, w=width, h=height,
                             lines=lines, state="focus" if node.id == focus else ""))
        top += height + _GAP
    stem = min((n.w for n in nodes), default=0.0) / 2
    edges = [Edge(a.id, b.id, polyline([(stem, a.y + a.h / 2), (stem, b.y - b.h / 2)]), "flow")
             for a, b in zip(nodes, nodes[1:], strict=False)]
    return replace(layout, nodes=tuple(nodes), edges=tuple(edges), focus=focus)


def compared_layouts(traces: Sequence[Trace], view: str = "overview", block: int = 1,
                     layer: int | None = None, differences_only: bool = False,
                     theme: str = "light") -> list[Layout]:
    """One layout per config, top to bottom on a shared channel scale, titled by the config's
    name. The overview highlights dense block `block`; the block view highlights dense layer
    `layer` where a config has it. With `differences_only`, the overview keeps the stages
    whose layers, channels, params or MACs differ."""
    if view not in COMPARE_VIEWS:
        raise DenseVisError(f"compare draws {' or '.join(COMPARE_VIEWS)}, not {view!r}")
    missing = [t.config.label for t in traces if view == "block" and block > len(t.blocks)]
    if missing:
        raise DenseVisError(f"{', '.join(missing)} has no dense block {block}")
    keep = differing_stages(traces) if differences_only else None
    layouts = []
    for trace in traces:
        place = f"features.denseblock{block}.denselayer{layer}"
        has_layer = view == "block" and layer and layer <= trace.block(block).dense_layers
        options = DiagramOptions(direction="TB", show=("shape",), theme=theme,
                                 highlight=place if has_layer else None)
        if view == "block":
            layouts.append(block_layout(trace, block, options))
        else:
            layouts.append(_column(overview_layout(trace, options), keep, trace,
                                   f"features.denseblock{block}"))
    widest = max((node_channels(t, n) or 0) for t, lay in zip(traces, layouts, strict=True)
                 for n in lay.nodes)
    per_channel = WIDEST_BOX[view] / max(1, widest)
    names = config_names([t.config for t in traces])
    return [replace(_widen(lay, t, per_channel), title=name, key=KEY)
            for lay, t, name in zip(layouts, traces, names, strict=True)]


def side_by_side(layouts: Sequence[Layout], gap: float = 60.0) -> Layout:
    """The compared layouts as one drawing, for files: columns left to right on the shared
    scale, each headed by its config's name; node ids prefixed "c1/", "c2/", ..."""
    if not layouts:
        raise DenseVisError("nothing to draw side by side")
    nodes: list[Node] = []
    edges: list[Edge] = []
    left = 0.0
    for number, lay in enumerate(layouts, start=1):
        x0, y0, x1, _ = lay.bounds()
        width, height = text_size((lay.title,), lay.font + 2)
        shift_x, shift_y = left - x0, height + 24 - y0
        prefix = f"c{number}/"
        nodes.append(Node(f"{prefix}name", left + width / 2, height / 2, width, height,
                          (lay.title,), "input"))
        nodes += [replace(n, id=prefix + n.id, x=n.x + shift_x, y=n.y + shift_y)
                  for n in lay.nodes]
        edges += [replace(e, source=prefix + e.source, target=prefix + e.target,
                          points=tuple((x + shift_x, y + shift_y) for x, y in e.points))
                  for e in lay.edges]
        left += x1 - x0 + gap
    names = " · ".join(lay.title for lay in layouts)
    return replace(layouts[0], name=f"compare-{layouts[0].name}", title=names,
                   nodes=tuple(nodes), edges=tuple(edges), focus=None)
