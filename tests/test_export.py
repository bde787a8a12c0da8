"""Exported files: signatures, XML, DOT round trip, decks, atomic writes and the CLI."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import densevis
from densevis.cli import main
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render import charts, diagrams, export


@pytest.fixture(scope="module")
def cifar() -> Trace:
    return densevis.trace("densenet-bc-100", device="cpu")


def test_diagram_formats(trace121: Trace, tmp_path: Path) -> None:
    graph = diagrams.block_diagram(trace121, 3)
    svg = export.diagram_bytes(graph, "svg")
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    png = export.diagram_bytes(graph, "png", dpi=72)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert export.diagram_bytes(graph, "pdf").startswith(b"%PDF-")
    dot = export.diagram_bytes(graph, "dot")
    path = tmp_path / "block3.dot"
    path.write_bytes(dot)
    result = subprocess.run(["dot", "-Tcanon", str(path)], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert len(re.findall(rb'class="?link"?[\s\]]', dot)) == 300
    with pytest.raises(DenseVisError, match="unknown diagram format"):
        export.diagram_bytes(graph, "jpg")
    with pytest.raises(DenseVisError, match="dpi must be one of 72, 150, 300"):
        export.diagram_bytes(graph, "png", dpi=100)


def test_charts_render_in_one_browser(trace121: Trace) -> None:
    figs = [charts.cost_chart(trace121), charts.connectivity_chart(trace121, 1)]
    pngs = export.figures_bytes(figs, "png", dpi=72)
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    assert [_png_facts(png) for png in pngs] == [(960, 540, 72)] * 2  # 13.33 x 7.5 in
    pdf, svg = export._render_batch([(figs[0], "pdf"), (figs[1], "svg")], dpi=72)
    assert pdf.startswith(b"%PDF-")
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    html = export.figure_bytes(figs[0], "html")
    assert html.lower().startswith((b"<html", b"<!doctype html"))
    assert b'src="https://cdn' not in html
    assert b"Plotly.newPlot" in html  # self-contained: plotly.js is inlined


def test_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "a.svg"
    export.write_atomic(target, b"one")
    export.write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.svg"]  # no temp files left
    with pytest.raises(DenseVisError, match="does not exist"):
        export.write_atomic(tmp_path / "missing" / "a.svg", b"x")


def test_cli_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no" / "such" / "folder" / "x.svg"
    assert main(["export", "--model", "densenet-bc-100", "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_browser_is_found() -> None:
    assert export.which_browser() == shutil.which("chromium") or export.which_browser()


# --------------------------------------------------------------------------- helpers


def _png_facts(png: bytes) -> tuple[int, int, int]:
    """(width, height, dpi) as Pillow reads them (the dpi from the pHYs chunk)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG"
        dpi = image.info["dpi"]
        assert round(dpi[0]) == round(dpi[1])
        return image.width, image.height, round(dpi[0])


def _deck_facts(data: bytes) -> list[tuple[str, list[tuple[int, int, int, int]]]]:
    """Each slide's one title and its pictures' (left, top, width, height), in EMU."""
    from pptx import Presentation
    from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER

    deck = Presentation(io.BytesIO(data))
    assert deck.slide_width * 9 == deck.slide_height * 16
    facts = []
    for slide in deck.slides:
        titles = [shape for shape in slide.placeholders
                  if shape.placeholder_format.type == PP_PLACEHOLDER.TITLE]
        assert len(titles) == 1 and slide.shapes.title is not None
        pictures = [(shape.left, shape.top, shape.width, shape.height) for shape in slide.shapes
                    if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
        facts.append((slide.shapes.title.text, pictures))
    return facts


def _check_pictures_fit(data: bytes) -> None:
    """Every picture inside the slide, below the title, centred within 1% of the slide."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation(io.BytesIO(data))
    width, height = deck.slide_width, deck.slide_height
    area_top, area_bottom = Inches(1.15), Inches(7.3)
    for title, pictures in _deck_facts(data)[1:]:
        assert len(pictures) == 1, title
        left, top, w, h = pictures[0]
        assert left >= 0 and left + w <= width and area_top <= top and top + h <= area_bottom
        assert abs(left + w / 2 - width / 2) <= 0.01 * width, title
        assert abs(top + h / 2 - (area_top + area_bottom) / 2) <= 0.01 * height, title
        # scaled to fit: it touches the sides or the top and bottom of the area
        assert w >= width - Inches(1) - 2 or h >= area_bottom - area_top - 2, title


# --------------------------------------------------------------------------- names


def test_file_names_say_what_they_hold(trace121: Trace, cifar: Trace) -> None:
    k12 = densevis.trace(trace121.config.replace(growth_rate=12), device="cpu")
    k48 = densevis.trace(trace121.config.replace(growth_rate=48), device="cpu")
    name = export.file_name
    assert name(trace121, "layer", "svg", block=3, layer=12) == \
        "densenet121-k32-block3-layer12.svg"
    assert name([k12, k48], "block", "png", block=3) == "densenet121-compare-k12-k48-block3.png"
    assert name(trace121, "overview", "pdf") == "densenet121-k32-overview.pdf"
    assert name(trace121, "block", "png", block=2, highlight=(2, 5)) == \
        "densenet121-k32-block2-highlight2.5.png"
    assert name(trace121, "connectivity", "html", block=4) == \
        "densenet121-k32-connectivity-block4.html"
    assert name(cifar, "kit") == "densenet-bc-100-k12-kit"
    custom = densevis.trace(cifar.config.replace(block_config=(4, 4, 4)), device="cpu")
    assert name([custom, trace121], "overview", "svg") == \
        "compare-densenet-4-4-4-k12-densenet121-k32-overview.svg"


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize("dpi", export.DPI_CHOICES)
def test_png_carries_the_dpi_asked(trace121: Trace, dpi: int) -> None:
    png = export.diagram_bytes(diagrams.overview_diagram(trace121), "png", dpi)
    width, height, written = _png_facts(png)
    assert written == dpi
    # drawn to fill a 13.33 x 7.5 in slide at that resolution (one side touches it)
    assert width <= round(13.333 * dpi) + 1 and height <= round(7.5 * dpi) + 1
    assert width >= round(13.333 * dpi) - 1 or height >= round(7.5 * dpi) - 1


def test_block_png_at_300_dpi_is_small(trace121: Trace) -> None:
    png = export.diagram_bytes(diagrams.block_diagram(trace121, 3), "png", 300)
    assert png.startswith(export.SIGNATURES["png"])
    assert _png_facts(png)[2] == 300
    assert len(png) < 3 * 1024 * 1024, len(png)


def test_svg_text_stays_text(trace121: Trace) -> None:
    svg = export.diagram_bytes(diagrams.block_diagram(trace121, 3), "svg")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    texts = {element.text for element in root.iter(f"{ns}text")}
    assert {"H1", "H24", "x0", "out"} <= texts  # labels are <text>, editable in an editor
    assert not list(root.iter(f"{ns}image")) and b"data:image" not in svg


# --------------------------------------------------------------------------- slides


def test_single_picture_decks(trace121: Trace) -> None:
    views = [export.KitItem("overview", "Overview", diagrams.overview_diagram(trace121)),
             export.KitItem("block", "Dense block 1", diagrams.block_diagram(trace121, 1),
                            block=1),
             export.KitItem("cost", "Cost", figure=charts.cost_chart(trace121))]
    data = export.deck_bytes(trace121, views, theme="dark", dpi=72)
    assert data.startswith(export.SIGNATURES["pptx"])
    facts = _deck_facts(data)
    assert [title for title, _ in facts] == [
        "densenet121 — inside the DenseNet", "Overview", "Dense block 1", "Cost"]
    _check_pictures_fit(data)
    from pptx import Presentation

    deck = Presentation(io.BytesIO(data))
    texts = [shape.text_frame.text for slide in deck.slides for shape in slide.shapes
             if shape.has_text_frame]
    assert any("7,978,856 parameters" in text for text in texts)
    pictures = [shape.image.blob for slide in deck.slides for shape in slide.shapes
                if shape.shape_type == 13]
    assert {_png_facts(blob)[2] for blob in pictures} == {72}


def test_pictures_carry_no_second_title(trace121: Trace) -> None:
    graph = export.untitled_diagram(diagrams.block_diagram(trace121, 1))
    assert "Dense block 1" not in export.diagram_bytes(graph, "svg").decode()
    figure = export.untitled_figure(charts.cost_chart(trace121))
    assert not figure.layout.title.text
    assert charts.cost_chart(trace121).layout.title.text  # the original keeps its title


@pytest.mark.slow
def test_kit_deck(trace121: Trace) -> None:
    """The app's and the CLI's deck: every block, the selected layer, no title twice."""
    k12 = densevis.trace(trace121.config.replace(growth_rate=12), device="cpu")
    data = export.kit_deck(trace121, [k12], selected=(3, 12))
    assert len(data) < 8 * 1024 * 1024, len(data)
    facts = _deck_facts(data)
    titles = [title for title, _ in facts]
    assert len(titles) == len(set(titles)) == 1 + 1 + 4 + 1 + 1 + 7
    assert "Dense block 3, dense layer H12 highlighted" in titles
    assert "Inside dense layer H12 of block 3" in titles
    assert not any("layer_b" in title or "H2 " in title for title in titles)
    _check_pictures_fit(data)


@pytest.mark.slow
def test_export_all(cifar: Trace, tmp_path: Path) -> None:
    seen: list[str] = []
    written = export.export_all(cifar, tmp_path / "kit", progress=seen.append, dpi=72)
    assert len(written) == export.expected_file_count(cifar) == len(seen)
    names = {path.name for path in written}
    stem = "densenet-bc-100-k12"
    for view in ("overview", "block1", "block3", "full"):
        assert {f"{stem}-{view}.{fmt}" for fmt in export.DIAGRAM_FORMATS} <= names
    assert not any("layer" in name and "layers" not in name for name in names)  # none chosen
    for fmt in export.CHART_FORMATS:
        assert f"{stem}-connectivity-block1.{fmt}" in names
    assert {f"{stem}-layers.csv", f"{stem}-stages.md", f"{stem}-blocks.tex",
            f"{stem}-deck.pptx"} <= names
    deck = (tmp_path / "kit" / f"{stem}-deck.pptx").read_bytes()
    assert [title for title, _ in _deck_facts(deck)][1:6] == [
        "Overview", "Dense block 1", "Dense block 2", "Dense block 3", "Full network"]
    assert not [p for p in (tmp_path / "kit").iterdir() if p.name.startswith(".")]


# --------------------------------------------------------------------------- the CLI


def test_cli_exports_a_named_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["export", "--model", "densenet-bc-100", "--view", "block", "--block", "2",
                 "--format", "dot", "--direction", "TB", "-o", str(tmp_path)])
    assert code == 0
    out = tmp_path / "densenet-bc-100-k12-block2.dot"
    assert len(re.findall(r'class="?link"?[\s\]]', out.read_text())) == 16 * 17 // 2
    png = tmp_path / "layer.png"
    assert main(["export", "--model", "densenet-bc-100", "--view", "layer", "--block", "1",
                 "--layer", "16", "--theme", "print", "--dpi", "72", "-o", str(png)]) == 0
    assert _png_facts(png.read_bytes())[2] == 72


def test_cli_highlight_shorthand_and_contents(cifar: Trace, tmp_path: Path) -> None:
    """--highlight 3.12 is the app's search shorthand; --contents picks the node lines."""
    assert main(["export", "--model", "densenet-bc-100", "--view", "full", "--highlight",
                 "3.12", "--contents", "params", "--format", "dot", "-o", str(tmp_path)]) == 0
    out = tmp_path / "densenet-bc-100-k12-full-highlight3.12.dot"
    options = diagrams.DiagramOptions(highlight="features.denseblock3.denselayer12",
                                      show=("params",))
    assert out.read_text() == export.view_graph(cifar, "full", options=options).source
    deck = tmp_path / "deck.pptx"
    assert main(["export", "--model", "densenet-bc-100", "--view", "block", "--highlight",
                 "denseblock2.denselayer3", "--dpi", "72", "-o", str(deck)]) == 0
    assert [title for title, _ in _deck_facts(deck.read_bytes())][1:] == [
        "Dense block 2, dense layer H3 highlighted"]


@pytest.mark.parametrize(("args", "message"), [
    (["--view", "block", "--block", "4"], "blocks 1 to 3"),
    (["--view", "layer", "--block", "1", "--layer", "17"], "layers 1 to 16"),
    (["--highlight", "4.1"], "no dense layer matches --highlight '4.1'"),
    (["--contents", "shapes,weights"], "unknown --contents weights"),
    (["--contents", "latency"], "needs measured latencies"),
    (["--chart", "cost", "--format", "dot"], "charts export as"),
])
def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                       message: str) -> None:
    out = tmp_path / "out.svg"
    assert main(["export", "--model", "densenet-bc-100", *args, "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing half-written


@pytest.mark.parametrize("args", [["--view", "blocks"], ["--format", "gif"],
                                  ["--theme", "neon"], ["--chart", "pie"], ["--dpi", "100"],
                                  ["--color-by", "weight"]])
def test_cli_choices_come_from_the_registry(tmp_path: Path, args: list[str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["export", "--model", "densenet-bc-100", *args, "-o", str(tmp_path / "x.svg")])
    assert stop.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("densevis export: error: argument") and "invalid choice" in error
    assert args[1] in error
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- 16:9 and ids

PLACES = [("overview", 1, 1), ("block", 1, 1), ("block", 3, 1), ("layer", 3, 12),
          ("layer", 1, 1), ("full", 1, 1)]


def _svg_ids(svg: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """(node id -> class, edge id -> class) of a graphviz SVG."""
    ns = "{http://www.w3.org/2000/svg}"
    nodes, edges = {}, {}
    for group in ET.fromstring(svg).iter(f"{ns}g"):
        kind, _, rest = (group.get("class") or "").partition(" ")
        if kind == "node":
            nodes[group.get("id")] = rest
        elif kind == "edge":
            edges[group.get("id")] = rest
    return nodes, edges


@pytest.mark.parametrize("direction", ["LR", "TB"])
@pytest.mark.parametrize(("view", "block", "layer"), PLACES)
def test_export_draws_the_screens_layout(trace121: Trace, view: str, block: int, layer: int,
                                         direction: str) -> None:
    """The exported SVG holds exactly the layout's nodes and edges, with their highlight
    states, in the 16:9 slide mode and as laid out for the screen; and the slide mode fills
    at least 60% of a 16:9 slide."""
    from PIL import Image

    from densevis.render.layout import DiagramOptions, layout

    options = DiagramOptions(direction=direction, highlight="features.denseblock3.denselayer12",
                             color_by="params" if view == "block" else None, show=("params",))
    drawn = layout(trace121, view, block, layer, options)
    fills = []
    for slide in (False, True):
        graph = export.view_graph(trace121, view, block, layer, options, slide=slide)
        nodes, edges = _svg_ids(export.diagram_bytes(graph, "svg"))
        extras = set(nodes) - {node.id for node in drawn.nodes}
        assert all(re.fullmatch(r"node\d+", extra) for extra in extras)  # the key, the legend
        for node in drawn.nodes:
            assert nodes[node.id].split() == [part for part in (node.role, node.kind, node.state)
                                              if part]
        assert set(edges) == {f"{edge.source}->{edge.target}" for edge in drawn.edges}
        assert len(edges) == len(drawn.edges)
        with Image.open(io.BytesIO(export.diagram_bytes(graph, "png", 72))) as image:
            fills.append(image.width * image.height / (round(13.333 * 72) * 540))
    assert fills[1] >= 0.6, fills


def test_slide_mode_folds_a_strip_into_rows(trace121: Trace) -> None:
    from densevis.render.layout import DiagramOptions, Layout, layout
    from densevis.render.slide import fit_slide

    strip = layout(trace121, "layer", 1, 1)
    folded = fit_slide(strip)

    def rows(drawn: Layout) -> int:
        return len({round(node.y) for node in drawn.nodes if node.role != "source"})

    assert rows(strip) == 1 and rows(folded) >= 2
    for drawn, (low, high) in ((strip, (10, 20)), (folded, (1, 3.5))):
        left, top, right, bottom = drawn.bounds()
        assert low < (right - left) / (bottom - top) < high
    assert [n.lines for n in folded.nodes] == [n.lines for n in strip.nodes]
    # a block's links cannot be cut: its arcs are raised instead, the nodes keep their line
    block = layout(trace121, "block", 3, options=DiagramOptions(direction="TB"))
    raised = fit_slide(block)
    assert len({round(node.x) for node in raised.nodes}) == 1

    def width(drawn: Layout) -> float:
        return drawn.bounds()[2] - drawn.bounds()[0]

    assert width(raised) > 3 * width(block)  # the arcs reach further out
    # the full network is taller than a slide (its largest block's arcs): they are flattened
    full = layout(trace121, "full")
    flat = fit_slide(full)
    left, top, right, bottom = full.bounds()
    assert (right - left) / (bottom - top) < 1.4
    left, top, right, bottom = flat.bounds()
    assert abs((right - left) / (bottom - top + 90) / (16 / 9) - 1) < 0.05  # 90: title, key
    assert {(n.id, n.x) for n in flat.nodes} == {(n.id, n.x) for n in full.nodes}


def test_chart_svg_embeds_no_raster(trace121: Trace) -> None:
    """Heatmaps (plotly paints them as an image) are drawn as one rectangle per cell."""
    figure = charts.connectivity_chart(trace121, 1, "channels")
    vector = export.vector_figure(figure)
    assert len(vector.layout.shapes) == 21 + 7  # the links of block 1 and into its output
    fills = {(round(shape.x0 + 0.5), round(shape.y0 + 0.5)): shape.fillcolor
             for shape in vector.layout.shapes}
    assert len({fills[column, 0] for column in range(7)}) == 1  # x0: 64 channels, one colour
    assert fills[0, 0] != fills[6, 6]  # H6 carries 32
    svg = export.figure_bytes(figure, "svg")
    assert b"<image" not in svg and b"data:image" not in svg
    assert b">channels</text>" in svg  # the colour bar's title is text


def test_compare_export_fills_a_slide(trace121: Trace) -> None:
    """The Compare page's file (comparison.side_by_side) in the 16:9 mode: a column per
    config, every node of each, the selection kept, and 60% of the slide filled."""
    from PIL import Image

    from densevis.render.comparison import compared_layouts, side_by_side
    from densevis.render.graphviz import to_graphviz
    from densevis.render.slide import fit_slide

    k12 = densevis.trace(trace121.config.replace(growth_rate=12), device="cpu")
    layouts = compared_layouts([k12, trace121], "block", 3, 12)
    graph = to_graphviz(fit_slide(side_by_side(layouts)))
    nodes, edges = _svg_ids(export.diagram_bytes(graph, "svg"))
    for number, drawn in enumerate(layouts, start=1):
        assert {f"c{number}/{node.id}" for node in drawn.nodes} < set(nodes)
        assert len([e for e in edges if e.startswith(f"c{number}/")]) == len(drawn.edges)
        assert nodes[f"c{number}/features.denseblock3.denselayer12"].split()[-1] == "focus"
    with Image.open(io.BytesIO(export.diagram_bytes(graph, "png", 72))) as image:
        assert image.width * image.height >= 0.6 * 960 * 540
