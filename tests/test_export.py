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
    png = export.diagram_bytes(graph, "png", dpi=50)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width_50 = int.from_bytes(png[16:20], "big")
    width_100 = int.from_bytes(export.diagram_bytes(graph, "png", dpi=100)[16:20], "big")
    assert abs(width_100 - 2 * width_50) <= 2  # the dpi is honoured
    assert export.diagram_bytes(graph, "pdf").startswith(b"%PDF-")
    dot = export.diagram_bytes(graph, "dot")
    path = tmp_path / "block3.dot"
    path.write_bytes(dot)
    result = subprocess.run(["dot", "-Tcanon", str(path)], capture_output=True)
    assert result.returncode == 0, result.stderr
    assert len(re.findall(rb'class="?link"?[\s\]]', dot)) == 300
    with pytest.raises(DenseVisError, match="unknown diagram format"):
        export.diagram_bytes(graph, "jpg")


def test_charts_render_in_one_browser(trace121: Trace) -> None:
    figs = [charts.cost_chart(trace121), charts.connectivity_chart(trace121, 1)]
    pngs = export.figures_bytes(figs, "png")
    assert len(pngs) == 2 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pngs)
    pdf, svg = export._render_batch([(figs[0], "pdf"), (figs[1], "svg")], scale=1)
    assert pdf.startswith(b"%PDF-")
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    html = export.figure_bytes(figs[0], "html")
    assert html.lower().startswith((b"<html", b"<!doctype html"))
    assert b'src="https://cdn' not in html
    assert b"Plotly.newPlot" in html  # self-contained: plotly.js is inlined


def test_deck(trace121: Trace) -> None:
    from pptx import Presentation

    views = [("Overview", diagrams.overview_diagram(trace121)),
             ("Dense block 1", diagrams.block_diagram(trace121, 1))]
    figures = [("Cost", charts.cost_chart(trace121))]
    data = export.deck_bytes(trace121, views, figures, theme="dark")
    assert data.startswith(b"PK\x03\x04")
    deck = Presentation(io.BytesIO(data))
    assert len(deck.slides) == 1 + 2 + 1
    assert deck.slide_width * 9 == deck.slide_height * 16
    texts = [shape.text_frame.text for slide in deck.slides for shape in slide.shapes
             if shape.has_text_frame]
    assert "densenet121 — inside the DenseNet" in texts
    assert any("7,978,856 parameters" in text for text in texts)
    assert {"Overview", "Dense block 1", "Cost"} <= set(texts)


def test_write_atomic(tmp_path: Path) -> None:
    target = tmp_path / "a.svg"
    export.write_atomic(target, b"one")
    export.write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.svg"]  # no temp files left
    with pytest.raises(DenseVisError, match="does not exist"):
        export.write_atomic(tmp_path / "missing" / "a.svg", b"x")


def test_cli_exports_a_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "block.dot"
    code = main(["export", "--model", "densenet-bc-100", "--view", "block", "--block", "2",
                 "--format", "dot", "--direction", "TB", "-o", str(out)])
    assert code == 0
    assert len(re.findall(r'class="?link"?[\s\]]', out.read_text())) == 16 * 17 // 2
    png = tmp_path / "layer.png"
    assert main(["export", "--model", "densenet-bc-100", "--view", "layer", "--block", "1",
                 "--layer", "16", "--theme", "print", "--dpi", "72", "-o", str(png)]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(("args", "message"), [
    (["--view", "blocks"], "unknown view"),
    (["--view", "block", "--block", "4"], "blocks 1 to 3"),
    (["--view", "layer", "--block", "1", "--layer", "17"], "layers 1 to 16"),
    (["--format", "gif"], "unknown format"),
    (["--theme", "neon"], "unknown theme"),
    (["--chart", "pie"], "unknown chart"),
])
def test_cli_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                       message: str) -> None:
    out = tmp_path / "out.svg"
    assert main(["export", "--model", "densenet-bc-100", *args, "-o", str(out)]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_cli_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "no" / "such" / "folder" / "x.svg"
    assert main(["export", "--model", "densenet-bc-100", "-o", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_export_all(cifar: Trace, tmp_path: Path) -> None:
    seen: list[str] = []
    written = export.export_all(cifar, tmp_path / "kit", progress=seen.append)
    assert len(written) == export.expected_file_count(cifar) == len(seen)
    names = {path.name for path in written}
    for stem in ("overview", "block1", "block3", "full"):
        assert {f"{stem}.{fmt}" for fmt in export.DIAGRAM_FORMATS} <= names
    for fmt in export.CHART_FORMATS:
        assert f"chart_connectivity.{fmt}" in names
    assert {"table_layers.csv", "table_stages.md", "table_blocks.tex", "deck.pptx"} <= names
    assert (tmp_path / "kit" / "deck.pptx").read_bytes().startswith(b"PK\x03\x04")
    assert not [p for p in (tmp_path / "kit").iterdir() if p.name.startswith(".")]


def test_browser_is_found() -> None:
    assert export.which_browser() == shutil.which("chromium") or export.which_browser()
