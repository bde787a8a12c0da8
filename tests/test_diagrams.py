"""The graphviz emitter (DOT and the SVG neato -n2 draws): link counts and classes, labels,
colours, highlight, legend, every theme and direction, errors."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import densevis
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render import diagrams
from densevis.render.diagrams import DiagramOptions, diagram
from densevis.render.export import diagram_bytes
from densevis.render.layout import layout
from densevis.render.registry import THEMES
from densevis.render.theme import get_theme

SVG = "{http://www.w3.org/2000/svg}"


def _edges(graph, css: str) -> list[str]:
    """DOT edge statements whose class is exactly `css`."""
    pattern = re.compile(rf'class="?{re.escape(css)}"?[\s\]]')
    return [line for line in graph.body if "->" in line and pattern.search(line)]


def _node_label(graph, name: str) -> str:
    for line in graph.body:
        if line.lstrip().startswith((f"{name} [", f'"{name}" [')):
            return re.search(r'label="([^"]*)"', line).group(1)
    raise AssertionError(f"no node {name}")


def _node_line(graph, name: str) -> str:
    return next(line for line in graph.body if line.lstrip().startswith(f'"{name}" ['))


@pytest.fixture(scope="module")
def small_trace() -> Trace:
    """A tiny CIFAR-style net without a bottleneck: 3x3 stem, bn_size = 0, two blocks."""
    config = densevis.get_config("densenet-bc-100").replace(block_config=(3, 4), bn_size=0)
    return densevis.trace(config, device="cpu")


def test_render_modules_never_import_torch_or_streamlit() -> None:
    code = ("import densevis.render.theme, densevis.render.diagrams, densevis.render.charts, "
            "densevis.render.layout, densevis.render.graphviz, densevis.render.interactive, "
            "densevis.render.export, sys; "
            "assert 'torch' not in sys.modules, 'torch'; "
            "assert 'streamlit' not in sys.modules, 'streamlit'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_block3_has_every_link_and_output_link(trace121: Trace) -> None:
    graph = diagrams.block_diagram(trace121, 3)
    assert len(_edges(graph, "link")) == 300  # L(L+1)/2 for L = 24
    assert len(_edges(graph, "output-link")) == 25  # x0, H1..H24 into the concatenation
    # each layer is labelled with its input channels k0 + k(l-1)
    layer = "features.denseblock3.denselayer"
    assert _node_label(graph, f"{layer}1").split("\n")[:2] == ["H1", "256"]
    assert _node_label(graph, f"{layer}24").split("\n")[:2] == ["H24", "992"]
    assert _node_label(graph, "features.denseblock3.output").split("\n") == ["out", "1024"]


def test_block_svg_keeps_the_link_classes(trace121: Trace) -> None:
    svg = diagram_bytes(diagrams.block_diagram(trace121, 1), "svg")
    root = ET.fromstring(svg)
    groups = list(root.iter("{http://www.w3.org/2000/svg}g"))
    classes = [g.get("class") for g in groups]
    assert classes.count("edge link") == 21
    assert classes.count("edge output-link") == 7
    ids = {g.get("id") for g in groups}  # the layout's ids, as the app's SVG has them
    assert "features.denseblock1.denselayer6" in ids
    assert "features.denseblock1.denselayer2->features.denseblock1.denselayer6" in ids


def test_links_are_coloured_by_source(trace121: Trace) -> None:
    graph = diagrams.block_diagram(trace121, 2)
    colors: dict[str, set[str]] = {}
    for line in _edges(graph, "link"):
        source = line.split("->")[0].strip().strip('"')
        colors.setdefault(source, set()).add(re.search(r'color="(#[0-9a-f]+)"', line).group(1))
    assert all(len(found) == 1 for found in colors.values())  # one colour per source
    assert len({next(iter(found)) for found in colors.values()}) == len(colors) == 12


def test_overview_names_blocks_and_transitions_with_channels(trace121: Trace) -> None:
    source = diagrams.overview_diagram(trace121).source
    for title, channels in [("Dense block 1", "64 → 256 ch"), ("Dense block 2", "128 → 512 ch"),
                            ("Dense block 3", "256 → 1024 ch"), ("Dense block 4", "512 → 1024 ch"),
                            ("Transition 1", "256 → 128 ch"), ("Transition 2", "512 → 256 ch"),
                            ("Transition 3", "1024 → 512 ch")]:
        name = title.lower().replace("dense ", "dense").replace(" ", "")
        label = _node_label(diagrams.overview_diagram(trace121), f"features.{name}")
        assert label.startswith(title) and channels in label
    for stage in ("7×7 conv", "3×3 max pool", "BN-ReLU", "global average pool",
                  "classifier (1000 classes)", "24 dense layers", "335 K params"):
        assert stage in source


def test_overview_fits_a_16_9_slide(trace121: Trace) -> None:
    svg = diagram_bytes(diagrams.overview_diagram(trace121), "svg")
    root = ET.fromstring(svg)
    width, height = (float(root.get(key).removesuffix("pt")) for key in ("width", "height"))
    assert 1.3 < width / height < 2.4


def test_cifar_stem_comes_from_the_records(small_trace: Trace) -> None:
    source = diagrams.overview_diagram(small_trace).source
    assert "3×3 conv" in source and "max pool" not in source and "7×7" not in source


def test_layer_view_channels(trace121: Trace) -> None:
    graph = diagrams.layer_diagram(trace121, 3, 5)
    source = graph.source
    assert "384 ch from 5 input(s)" in source  # k0 + 4k = 256 + 128
    assert "1×1 conv\n384 → 128 ch" in source  # bottleneck bn_size * k
    assert "3×3 conv\n128 → 32 ch" in source
    x0 = _node_label(graph, "features.transition2.pool")
    assert x0 == "x0 (block input)\n256 ch"
    inputs = [line for line in graph.body if "->" in line and "denselayer5.concat" in
              line.split("->")[1].split("[")[0]]
    assert len(inputs) == 5  # x0, H1..H4


def test_layer_view_without_bottleneck(small_trace: Trace) -> None:
    source = diagrams.layer_diagram(small_trace, 2, 3).source
    assert "1×1 conv" not in source
    assert "3×3 conv" in source


def test_full_view_has_all_links(trace121: Trace) -> None:
    graph = diagrams.full_diagram(trace121)
    assert len(_edges(graph, "link")) == len(trace121.links) == 21 + 78 + 300 + 136
    assert len(_edges(graph, "output-link")) == 7 + 13 + 25 + 17
    expanded = diagrams.full_diagram(trace121, DiagramOptions(expand=True)).source
    assert expanded.count("3×3 conv → 32") == 58


def test_highlight_marks_inputs_and_consumers(trace121: Trace) -> None:
    options = DiagramOptions(highlight="features.denseblock3.denselayer5")
    graph = diagrams.block_diagram(trace121, 3, options)
    thick = [line for line in graph.body if "->" in line and re.search(r'penwidth="?2.2', line)]
    assert len(thick) == 5 + 19 + 1  # from x0..H4, to H6..H24, to the output
    focus = _node_line(graph, "features.denseblock3.denselayer5")
    assert 'class="dense-layer focus"' in focus and "penwidth=4" in focus
    with pytest.raises(DenseVisError, match="no dense layer"):
        diagrams.block_diagram(trace121, 3, DiagramOptions(highlight="denseblock9.denselayer1"))


def test_colour_by_metric_adds_a_legend(trace121: Trace) -> None:
    graph = diagrams.block_diagram(trace121, 1, DiagramOptions(color_by="macs"))
    assert "colour: MACs per layer" in graph.source
    with pytest.raises(DenseVisError, match="latenc"):
        DiagramOptions(color_by="latency")
    latency = {f"features.denseblock1.denselayer{i}.conv2": float(i) for i in range(1, 7)}
    timed = diagrams.block_diagram(trace121, 1, DiagramOptions(
        color_by="latency", latency_ms=latency, show=("shape", "latency")))
    assert "6.00ms" in timed.source and "colour: latency" in timed.source


@pytest.mark.parametrize("theme", THEMES)
def test_every_view_renders_in_every_theme_and_direction(trace121: Trace, theme: str) -> None:
    """Each view's SVG has one node group per layout node and one edge group per edge, and
    the theme's background (none when transparent)."""
    look = get_theme(theme)
    background = [] if look.background == "transparent" else [look.background]
    for direction in ("LR", "TB"):
        options = DiagramOptions(theme=theme, direction=direction)
        for view in diagrams.VIEWS:
            shape = layout(trace121, view, block=2, layer=3, options=options)
            svg = diagram_bytes(diagram(trace121, view, block=2, layer=3, options=options), "svg")
            root = ET.fromstring(svg)
            classes = [g.get("class", "") for g in root.iter(f"{SVG}g")]
            nodes = [c for c in classes if c.startswith("node")]
            assert len(nodes) == len(shape.nodes) + 1  # + the reading key
            assert sum(c.startswith("edge") for c in classes) == len(shape.edges)
            painted = [p.get("fill") for p in root.iter(f"{SVG}polygon")
                       if p.get("stroke") == "transparent"]  # the background rectangle
            assert painted == background


def test_dispatch_rejects_bad_input(trace121: Trace) -> None:
    with pytest.raises(DenseVisError, match="unknown view 'blocks'"):
        diagram(trace121, "blocks")
    with pytest.raises(DenseVisError, match="blocks 1 to 4"):
        diagram(trace121, "block", block=5)
    with pytest.raises(DenseVisError, match="layers 1 to 12"):
        diagram(trace121, "layer", block=2, layer=13)
    with pytest.raises(DenseVisError, match="direction"):
        DiagramOptions(direction="RL")


def test_a_100_layer_block_draws_every_link() -> None:
    """All 5,050 links of a 100-layer block (its speed is benchmarks/bench_render.py's job)."""
    config = densevis.get_config("densenet-bc-100").replace(block_config=(100,), growth_rate=4,
                                                            num_init_features=8)
    big = densevis.trace(config, device="cpu")
    svg = diagram_bytes(diagrams.block_diagram(big, 1), "svg")
    assert svg.count(b'class="edge link"') == 5050
