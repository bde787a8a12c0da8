"""Layout geometry without graphviz, for every preset x every view x both directions: every
link present, no two boxes overlap, every arrow ends on the box it feeds (arcs on its left
half), highlight roles from the links, the one metric and latency rule, oversize views."""

from __future__ import annotations

import itertools
import re
from xml.etree import ElementTree

import pytest

import densevis
from densevis.config import PRESETS
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render import layout as lay
from densevis.render.graphviz import edge_stroke
from densevis.render.interactive import to_svg
from densevis.render.layout import DiagramOptions, Layout, Node
from densevis.render.theme import get_theme


@pytest.fixture(scope="module", params=list(PRESETS))
def preset_trace(request: pytest.FixtureRequest) -> Trace:
    return densevis.trace(request.param, device="cpu")


def _views(trace: Trace) -> list[tuple[str, int, int]]:
    """Every view: the overview, the full network, each block, the last layer of each."""
    places = [("overview", 1, 1), ("full", 1, 1)]
    for block in trace.blocks:
        places += [("block", block.index, 1), ("layer", block.index, block.dense_layers)]
    return places


def _overlap(a: Node, b: Node) -> bool:
    return abs(a.x - b.x) < (a.w + b.w) / 2 - 0.01 and abs(a.y - b.y) < (a.h + b.h) / 2 - 0.01


def _on_border(point: tuple[float, float], node: Node) -> bool:
    """The point lies on the node's box outline (within half a point)."""
    dx, dy = abs(point[0] - node.x), abs(point[1] - node.y)
    inside = dx <= node.w / 2 + 0.5 and dy <= node.h / 2 + 0.5
    return inside and (abs(dx - node.w / 2) <= 0.5 or abs(dy - node.h / 2) <= 0.5)


def _check_geometry(layout: Layout) -> None:
    nodes = {node.id: node for node in layout.nodes}
    assert len(nodes) == len(layout.nodes), "node ids are unique"
    for a, b in itertools.combinations(layout.nodes, 2):
        assert not _overlap(a, b), f"{a.id} overlaps {b.id}"
    for edge in layout.edges:
        assert (len(edge.points) - 1) % 3 == 0, "a cubic Bezier path"
        source, target = nodes[edge.source], nodes[edge.target]
        assert _on_border(edge.points[0], source), f"{edge.source} -> {edge.target} start"
        assert _on_border(edge.points[-1], target), f"{edge.source} -> {edge.target} end"
        if edge.role in ("link", "output-link") and layout.view != "layer":
            # arcs enter the layer they feed on its left half (top half for TB)
            along = 0 if layout.direction == "LR" else 1
            assert edge.points[-1][along] < (target.x, target.y)[along]


def _block_pairs(layout: Layout, trace: Trace, block: int) -> set[tuple[int, int]]:
    index = {name: i for i, name in enumerate(lay.block_ids(trace, block))}
    if layout.view == "full":  # x0 is the row's lead box (stem pool or transition)
        index[next(n.id for n in layout.nodes if n.block == block and n.position == 0)] = 0
    return {(index[e.source], index[e.target]) for e in layout.edges
            if e.role in ("link", "output-link") and e.source_layer is not None
            and e.target in index and e.source in index}


@pytest.mark.parametrize("direction", lay.DIRECTIONS)
def test_every_view_keeps_its_geometry(preset_trace: Trace, direction: str) -> None:
    options = DiagramOptions(direction=direction)
    for view, block, layer in _views(preset_trace):
        _check_geometry(lay.layout(preset_trace, view, block, layer, options))


def test_every_link_is_drawn(preset_trace: Trace) -> None:
    full = lay.full_layout(preset_trace)
    for block in preset_trace.blocks:
        count = block.dense_layers
        expected = {(s, t) for t in range(1, count + 2) for s in range(t)}  # incl. the output
        assert _block_pairs(lay.block_layout(preset_trace, block.index), preset_trace,
                            block.index) == expected
        assert _block_pairs(full, preset_trace, block.index) == expected
    links = [e for e in full.edges if e.role in ("link", "output-link")]
    assert len(links) == len(preset_trace.links) + len(preset_trace.output_links)


def test_layer_view_feeds_every_input_into_the_concat(trace121: Trace) -> None:
    layout = lay.layer_layout(trace121, 3, 12)
    concat = "features.denseblock3.denselayer12.concat"
    inputs = [e for e in layout.edges if e.target == concat]
    assert [e.channels for e in inputs] == [256] + [32] * 11  # x0 then H1..H11
    chain = [n.lines[0] for n in layout.nodes if n.role == "op"]
    assert chain == ["concat", "BN", "ReLU", "1×1 conv", "BN", "ReLU", "3×3 conv"]
    assert [e.label for e in layout.edges if e.label] == ["608", "608", "608", "128", "128",
                                                          "128", "32"]
    _check_geometry(layout)


def test_highlight_roles_come_from_the_links(trace121: Trace) -> None:
    layout = lay.block_layout(trace121, 3, DiagramOptions(
        highlight="denseblock3.denselayer12"))
    states = {n.lines[0]: n.state for n in layout.nodes if n.block == 3}
    assert [name for name, state in states.items() if state == "input"] == [
        "x0", *(f"H{i}" for i in range(1, 12))]
    assert [name for name, state in states.items() if state == "consumer"] == [
        *(f"H{i}" for i in range(13, 25)), "out"]
    assert states["H12"] == "focus" and layout.focus == "features.denseblock3.denselayer12"
    active = [e for e in layout.edges if e.state == "active"]
    assert len(active) == 12 + 13
    assert all("features.denseblock3.denselayer12" in (e.source, e.target) for e in active)
    other = lay.block_layout(trace121, 2, DiagramOptions(highlight="denseblock3.denselayer12"))
    assert {e.state for e in other.edges} == {""}  # a highlight elsewhere changes nothing
    with pytest.raises(DenseVisError, match="no dense layer"):
        lay.block_layout(trace121, 3, DiagramOptions(highlight="denseblock9.denselayer1"))


def test_tb_is_the_lr_line_turned_downwards(trace121: Trace) -> None:
    tb = lay.block_layout(trace121, 2, DiagramOptions(direction="TB"))
    layers = [n for n in tb.nodes if n.role == "dense-layer"]
    assert len({n.x for n in layers}) == 1  # one column
    assert [n.y for n in layers] == sorted(n.y for n in layers)
    lr = [n for n in lay.block_layout(trace121, 2).nodes if n.role == "dense-layer"]
    assert {(n.w, n.h) for n in layers} == {(n.w, n.h) for n in lr}  # text is not turned


def test_overview_wraps_to_16_9(trace121: Trace) -> None:
    for direction in lay.DIRECTIONS:
        layout = lay.overview_layout(trace121, DiagramOptions(direction=direction))
        left, top, right, bottom = layout.bounds()
        assert 1.2 < (right - left) / (bottom - top) < 2.6, direction
        blocks = [n for n in layout.nodes if n.role == "block"]
        assert [n.id for n in blocks] == [f"features.denseblock{i}" for i in range(1, 5)]
        assert [n.block for n in blocks] == [1, 2, 3, 4]  # drill-down targets


def test_one_latency_rule_and_metric_values(trace121: Trace) -> None:
    rows = trace121.dense_layers(1)
    ops = lay.dense_layer_ops(trace121, 1, 2)
    latency = {op.name: 0.5 for op in ops}  # 7 ops of H2 at 0.5 ms
    assert lay.dense_layer_metric(trace121, rows[1], "latency", latency) == 3.5
    assert lay.dense_layer_metric(trace121, rows[0], "latency", latency) is None
    assert lay.dense_layer_metric(trace121, rows[1], "params") == rows[1].params
    layout = lay.block_layout(trace121, 1, DiagramOptions(color_by="macs"))
    macs = [n.metric for n in layout.nodes if n.role == "dense-layer"]
    assert macs == [float(r.macs) for r in rows]
    assert layout.metric_range == (min(macs), max(macs))


def test_oversize_views_are_bundled_or_refused(trace121: Trace,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lay, "MAX_LINKS", 100)
    layout = lay.block_layout(trace121, 3)
    assert [e.role for e in layout.edges].count("bundle") == 25  # one arc per source
    assert "bundled" in layout.note
    _check_geometry(layout)
    monkeypatch.setattr(lay, "MAX_DENSE_LAYERS", 20)
    with pytest.raises(DenseVisError, match="more than the 20"):
        lay.block_layout(trace121, 3)
    with pytest.raises(DenseVisError, match="more than the 20"):
        lay.full_layout(trace121)


def test_layout_rejects_bad_places(trace121: Trace) -> None:
    with pytest.raises(DenseVisError, match="unknown view 'blocks'"):
        lay.layout(trace121, "blocks")
    with pytest.raises(DenseVisError, match="blocks 1 to 4"):
        lay.layout(trace121, "block", block=5)
    with pytest.raises(DenseVisError, match="layers 1 to 12"):
        lay.layout(trace121, "layer", block=2, layer=13)
    with pytest.raises(DenseVisError, match="direction"):
        DiagramOptions(direction="RL")


def _decode(data: str) -> list[tuple[float, float]]:
    """Absolute points of SVG path data made of M, then relative c and s curves."""
    tokens = re.findall(r"[Mcs]|-?(?:\d+\.?\d*|\.\d+)", data)
    points: list[tuple[float, float]] = []
    command, numbers = "", []
    for token in [*tokens, "M"]:
        if token.isalpha():
            if command == "M":
                points.append((numbers[0], numbers[1]))
            elif command:
                x, y = points[-1]
                moves = [(x + numbers[i], y + numbers[i + 1]) for i in range(0, len(numbers), 2)]
                if command == "s":  # the first control point mirrors the previous curve's last
                    moves.insert(0, (2 * x - points[-2][0], 2 * y - points[-2][1]))
                points += moves
            command, numbers = token, []
        else:
            numbers.append(float(token))
    return points


@pytest.mark.parametrize(("view", "block", "layer", "direction"), [
    ("block", 3, 1, "LR"), ("block", 2, 1, "TB"), ("layer", 3, 12, "LR"), ("overview", 1, 1, "LR"),
    ("full", 1, 1, "TB")])
def test_the_interactive_svg_draws_the_layout(trace121: Trace, view: str, block: int,
                                              layer: int, direction: str) -> None:
    """One path per edge in layout order: its ends name the edge's nodes (by index), its
    points are the layout's to 0.05 pt (control points 0.16), its stroke class the
    emitter's colour, its tooltip the layout's (given, or built from its ends' data)."""
    layout = lay.layout(trace121, view, block, layer, DiagramOptions(direction=direction))
    svg = to_svg(layout, "dark")
    root = ElementTree.fromstring(svg)
    space = "{http://www.w3.org/2000/svg}"
    nodes = root.findall(f".//{space}g[@class]")
    nodes = [g for g in nodes if g.get("class", "").split()[0] == "node"]
    assert [g.get("id") for g in nodes] == [node.id for node in layout.nodes]
    paths = [p for p in root.iter(f"{space}path") if "edge" in p.get("class", "").split()]
    assert len(paths) == len(layout.edges)
    rules = dict(re.findall(r"\.densevis-diagram \.(e\d+)\{stroke:([^;]+);", svg))
    for path, edge in zip(paths, layout.edges, strict=True):
        assert layout.nodes[int(path.get("data-s", ""))].id == edge.source
        assert layout.nodes[int(path.get("data-t", ""))].id == edge.target
        tip = path.get("data-tip")
        if tip == "":  # built by the browser from the ends' data-from, data-to, data-carries
            ends = nodes[int(path.get("data-s", ""))], nodes[int(path.get("data-t", ""))]
            tip = f"{ends[0].get('data-from')} → {ends[1].get('data-to')}: " + (
                ends[0].get("data-carries") or "")
        assert (tip or "") == edge.tooltip
        drawn = _decode(path.get("d", ""))
        assert len(drawn) == len(edge.points)
        for i, (p, q) in enumerate(zip(drawn, edge.points, strict=True)):
            limit = 0.051 if i % 3 == 0 else 0.16  # ends of curves; control points ('s')
            assert abs(p[0] - q[0]) <= limit and abs(p[1] - q[1]) <= limit
        stroke = next(c for c in path.get("class", "").split() if re.fullmatch(r"e\d+", c))
        assert rules[stroke] == edge_stroke(edge, get_theme("dark"))[0]
    if view == "block":  # every link's tooltip is built from its ends
        assert {p.get("data-tip") for p in paths if "link" in p.get("class", "")} == {""}
    assert len(svg) < 220 * len(layout.edges) + 700 * len(layout.nodes) + 2000
