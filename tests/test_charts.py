"""Chart data (not pixels): the values plotted, titles, axis titles and errors."""

from __future__ import annotations

import pytest

import densevis
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render import charts, registry
from densevis.render.theme import THEMES, get_theme


@pytest.fixture(scope="module")
def k12(trace121: Trace) -> Trace:
    return densevis.trace(trace121.config.replace(growth_rate=12), device="cpu")


def _axis_titles(fig) -> list[str]:
    layout = fig.to_dict()["layout"]
    return [value["title"]["text"] for key, value in layout.items()
            if key.startswith(("xaxis", "yaxis")) and value.get("title", {}).get("text")]


def test_channel_growth_is_the_sawtooth(trace121: Trace, k12: Trace) -> None:
    fig = charts.channel_growth_chart([trace121, k12])
    first, second = fig.data
    assert list(first.y[:7]) == [64, 96, 128, 160, 192, 224, 128]  # halves at transition 1
    assert len(first.y) == 58 and first.y[-1] == 992
    assert list(second.y[:7]) == [64, 76, 88, 100, 112, 124, 68]  # k = 12: (64 + 72) // 2
    assert first.name == "densenet121 (k=32)" and second.name.startswith("k=12")
    assert "input channels" in _axis_titles(fig)


def test_composition_splits_input_channels_by_producer(trace121: Trace) -> None:
    fig = charts.channel_composition_chart(trace121, 3)
    assert len(fig.data) == 25  # x0 and H1..H24
    column = {bar.name: bar.y[4] for bar in fig.data}  # layer H5
    assert sum(column.values()) == 384
    assert column["block input x0"] == 256 and column["H4"] == 32 and column["H5"] == 0
    output = sum(bar.y[-1] for bar in fig.data)
    assert output == 1024 and fig.data[0].x[-1] == "output"
    with pytest.raises(DenseVisError, match="blocks 1 to 4"):
        charts.channel_composition_chart(trace121, 0)


def test_connectivity_matrix(trace121: Trace) -> None:
    present = charts.connectivity_chart(trace121, 2, "present")
    z = present.data[0].z
    assert len(z) == 13 and all(len(row) == 13 for row in z)
    cells = [value for row in z for value in row if value is not None]
    assert len(cells) == 78 + 13 and set(cells) == {1}
    assert z[3][3] == 1 and z[3][2] is None  # H3 feeds H4 (column 3), not itself
    channels = charts.connectivity_chart(trace121, 2, "channels").data[0].z
    assert channels[0][0] == 128 and channels[5][12] == 32  # x0 -> H1, H5 -> output
    with pytest.raises(DenseVisError, match="present or channels"):
        charts.connectivity_chart(trace121, 2, "weights")


def test_cost_chart_per_layer_coloured_by_block(trace121: Trace) -> None:
    fig = charts.cost_chart(trace121, "params")
    assert [bar.name for bar in fig.data] == ["block 1", "block 2", "block 3", "block 4"]
    assert sum(sum(bar.y) for bar in fig.data) == sum(r.params for r in trace121.dense_layers())
    assert len({bar.marker.color for bar in fig.data}) == 4
    assert "parameters (count)" in _axis_titles(fig)
    with pytest.raises(DenseVisError, match="measured latencies"):
        charts.cost_chart(trace121, "latency")
    latency = {"features.denseblock1.denselayer1.conv1": 0.5,
               "features.denseblock1.denselayer1.conv2": 0.25}
    timed = charts.cost_chart(trace121, "latency", latency_ms=latency)
    assert timed.data[0].y[0] == 0.75 and timed.data[0].y[1] is None


def test_breakdown_sums_to_the_totals(trace121: Trace) -> None:
    fig = charts.cost_breakdown_chart(trace121)
    params, macs = fig.data
    assert params.values[0] == trace121.totals.params == 7_978_856
    assert macs.values[0] == trace121.totals.macs
    assert "Dense block 3" in params.labels


def test_growth_rate_chart(trace121: Trace, k12: Trace) -> None:
    fig = charts.growth_rate_chart([trace121, k12])
    params = fig.data[0]
    assert list(params.x) == [12, 32]
    assert params.y[1] == 7_978_856
    final = fig.data[3]
    assert list(final.y) == [k12.blocks[-1].out_channels, 1024]
    widths = [bar for bar in fig.data if bar.type == "bar"]
    assert [bar.name for bar in widths] == ["k = 12", "k = 32"]
    assert list(widths[1].y) == [256, 512, 1024, 1024]
    assert "growth rate k" in _axis_titles(fig)


def test_dispatcher(trace121: Trace, k12: Trace) -> None:
    for name in ("channels", "composition", "connectivity", "cost"):
        fig = charts.chart(trace121, name, block=2, theme="dark")
        assert fig.layout.title.text and len(_axis_titles(fig)) >= 2
        assert fig.layout.paper_bgcolor == THEMES["dark"].background
    assert len(charts.chart(trace121, "growth", extra_traces=[k12]).data) == 6
    with pytest.raises(DenseVisError, match="other k values"):
        charts.chart(trace121, "growth")
    with pytest.raises(DenseVisError, match="unknown chart"):
        charts.chart(trace121, "pie")


def test_themes() -> None:
    assert tuple(THEMES) == registry.THEMES == tuple(registry.THEME_TITLES)
    assert (registry.MATCH_APP, *registry.THEMES) == registry.FIGURE_THEMES
    assert get_theme("transparent").plot_background == "rgba(0,0,0,0)"
    # text for the slide the user names: dark text on a light slide, light text on a dark one
    assert get_theme("transparent").foreground == get_theme("light").foreground
    assert get_theme("transparent-dark").foreground == get_theme("dark").foreground
    assert get_theme("transparent-dark").plot_background == "rgba(0,0,0,0)"
    greys = get_theme("print").source_colors(6)
    assert all(c[1:3] == c[3:5] == c[5:7] for c in greys)  # grayscale
    assert len(set(get_theme("light").source_colors(25))) == 25
    with pytest.raises(DenseVisError, match="unknown theme"):
        get_theme("neon")
