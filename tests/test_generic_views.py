"""Every view that applies works on a custom module's trace: the diagram layouts (geometry
without graphviz), the charts, the exports; the views that need dense blocks or a DenseNet
config say so in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import densevis
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render import charts
from densevis.render import layout as lay
from densevis.render.export import expected_file_count, export_all

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from cifar_densenet import densenet_bc  # noqa: E402
from fc_densenet import fc_densenet  # noqa: E402
from resnet import resnet  # noqa: E402


@pytest.fixture(scope="module")
def fc() -> Trace:
    return densevis.trace(fc_densenet())


@pytest.fixture(scope="module")
def res() -> Trace:
    return densevis.trace(resnet())


def _roles(layout: lay.Layout) -> dict[str, int]:
    counts: dict[str, int] = {}
    for edge in layout.edges:
        counts[edge.role] = counts.get(edge.role, 0) + 1
    return counts


def test_fc_densenet_views_draw_every_link_and_the_skips(fc: Trace) -> None:
    overview = lay.layout(fc, "overview")
    skips = [e for e in overview.edges if e.role == "skip"]
    assert len(skips) == 2  # encoder block 1 -> transition 4, block 2 -> transition 3
    assert {(e.source, e.target) for e in skips} == {
        ("features.denseblock1", "features.transition4"),
        ("features.denseblock2", "features.transition3")}
    for block in fc.blocks:
        drawn = _roles(lay.layout(fc, "block", block.index))
        assert drawn["link"] == block.links == block.dense_layers * (block.dense_layers + 1) // 2
        assert drawn["output-link"] == block.output_links
    assert _roles(lay.layout(fc, "full"))["link"] == 28
    layer = lay.layout(fc, "layer", 4, 3)  # the decoder's last layer reads x0, H1, H2
    assert [n.lines[0] for n in layer.nodes if n.role == "source"] == [
        "x0 (block input)", "H1", "H2"]
    assert "Dense block 4 of FCDenseNet" in lay.layout(fc, "block", 4).title


def test_chained_and_list_style_draw_the_same_block() -> None:
    chained = densevis.trace(densenet_bc(depth=40))
    listed = densevis.trace(densevis.get_config("densenet-bc-100", block_config=(6, 6, 6)))
    a, b = lay.layout(chained, "block", 2), lay.layout(listed, "block", 2)
    assert sorted((e.role, e.source_layer, e.channels) for e in a.edges if e.source_layer) == \
        sorted((e.role, e.source_layer, e.channels) for e in b.edges if e.source_layer)
    assert [n.lines[1:] for n in a.nodes] == [n.lines[1:] for n in b.nodes]


def test_resnet_overview_and_the_views_it_cannot_have(res: Trace) -> None:
    overview = lay.layout(res, "overview")
    assert [n.lines[0] for n in overview.nodes][2:5] == ["layer1", "layer2", "layer3"]
    assert _roles(overview).get("residual") == 1  # the stem -> layer1 shortcut crosses boxes
    for view in ("block", "layer", "full"):
        with pytest.raises(DenseVisError, match="no dense blocks found in ResNet"):
            lay.layout(res, view)
    for chart in ("composition", "connectivity", "channels", "cost"):
        with pytest.raises(DenseVisError, match="no dense blocks found"):
            charts.chart(res, chart)
    sunburst = charts.cost_breakdown_chart(res).data[0]
    assert list(sunburst.labels) == ["ResNet", "Stem", "layer1", "layer2", "layer3", "Head"]


def test_growth_chart_needs_a_config(fc: Trace) -> None:
    with pytest.raises(DenseVisError, match="needs a DenseNet config"):
        charts.chart(fc, "growth")


def test_charts_of_a_custom_module(fc: Trace) -> None:
    chained = densevis.trace(densenet_bc(depth=40))
    figure = charts.chart(chained, "composition", block=1)
    x0 = next(bar for bar in figure.data if bar.name == "block input x0")
    assert list(x0.y) == [24] * 7  # every layer and the output read x0's 24 channels
    h1 = next(bar for bar in figure.data if bar.name == "H1")
    assert list(h1.y) == [0] + [12] * 6
    matrix = charts.chart(fc, "connectivity", block=3).data[0].z
    assert sum(1 for row in matrix for cell in row if cell) == 10 + 4  # links + output links
    channels = charts.chart(fc, "channels").data[0]
    assert list(channels.y[:2]) == [24, 32] and len(channels.y) == 14


def test_export_all_of_a_module_without_blocks(res: Trace, tmp_path: Path) -> None:
    written = export_all(res, tmp_path)
    assert len(written) == expected_file_count(res) == 18  # overview, breakdown, tables, deck
    assert (tmp_path / "resnet-overview.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert (tmp_path / "resnet-deck.pptx").read_bytes()[:2] == b"PK"
    assert "layer2" in (tmp_path / "resnet-stages.csv").read_text()
