"""Chart data (not pixels): the values plotted, titles, axis titles and errors."""

from __future__ import annotations

import pytest

import densevis
from densevis.config import PRESETS
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render import charts, registry
from densevis.render.comparison import WIDEST_BOX, compared_layouts, side_by_side
from densevis.render.configs import config_names
from densevis.render.tables import comparison_table, differing_stages, stage_difference_table
from densevis.render.theme import THEMES, get_theme, growth_rate_color, lightness
from densevis.spec import parse_config_spec


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
    assert first.name == "k=32 (densenet121)" and second.name == "k=12"
    assert fig.layout.title.text.endswith("all configs: blocks 6-12-24-16, 224×224, imagenet "
                                          "stem</sup>")
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
    assert [bar.name for bar in widths] == ["k=12", "k=32 (densenet121)"]
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


# --------------------------------------------------------------------------- mixed configs


@pytest.fixture(scope="module")
def presets() -> dict[str, Trace]:
    return {name: densevis.trace(config, device="cpu") for name, config in PRESETS.items()}


@pytest.fixture(scope="module")
def mixed(trace121: Trace, k12: Trace, presets: dict[str, Trace]) -> list[Trace]:
    """k = 12 and 32 on densenet121's blocks, densenet169 (k = 32 too) and a CIFAR net."""
    cifar = densevis.trace(parse_config_spec("densenet-bc-100 k=24"), device="cpu")
    return [k12, trace121, presets["densenet169"], cifar]


def test_mixed_configs_get_distinct_names_and_no_k_line(mixed: list[Trace]) -> None:
    names = config_names([t.config for t in mixed])
    assert names == ["k=12 blocks=6-12-24-16 (224×224)", "densenet121", "densenet169",
                     "k=24 blocks=16-16-16 (32×32)"]
    fig = charts.growth_rate_chart(mixed)
    assert {trace.type for trace in fig.data} == {"bar"}  # no line joins unrelated configs
    assert [bar.name for bar in fig.data if bar.showlegend is not False] == names
    params = fig.data[0]
    assert list(params.y) == [t.totals.params for t in mixed]  # in the order given
    assert params.y[1] == 7_978_856 and params.y[2] == 14_149_480  # torchvision's counts
    assert "blocks" not in fig.layout.title.text and "k=" not in fig.layout.title.text
    assert fig.layout.title.text == "Configs compared: cost and width"
    assert all(axis["rangemode"] == "tozero" for key, axis in fig.layout.to_plotly_json().items()
               if key.startswith("yaxis"))
    growth = charts.channel_growth_chart(mixed)
    assert [line.name for line in growth.data] == names
    assert not growth.layout.shapes  # no transition lines: the configs' blocks differ


def test_a_config_has_one_colour_on_a_page(mixed: list[Trace]) -> None:
    for theme in THEMES:
        lines = {s.name: s.line.color for s in charts.channel_growth_chart(mixed, theme).data}
        bars = {b.name: b.marker.color
                for b in charts.growth_rate_chart(mixed, theme).data if b.showlegend is not False}
        assert lines == bars
        assert len(set(lines.values())) == len(mixed)  # never repeated within a figure


def test_growth_rates_share_one_ordered_scale(trace121: Trace, k12: Trace) -> None:
    k48 = densevis.trace(trace121.config.replace(growth_rate=48), device="cpu")
    for theme in THEMES:
        look = get_theme(theme)
        shades = [lightness(growth_rate_color(look, k))
                  for k in sorted({*registry.GROWTH_RATE_SCALE_RANGE, *registry.SWEEP_RATES})]
        steps = [b - a for a, b in zip(shades, shades[1:], strict=False)]
        # light backgrounds: small k light, large k dark; dark backgrounds the reverse
        assert all(s < 0 for s in steps) or all(s > 0 for s in steps), theme
        dark_background = lightness(look.backdrop) < 50
        assert (steps[0] > 0) == dark_background, theme
        # k = 12 has the same colour whatever it is shown with, in every chart
        alone = charts.channel_growth_chart([k12, trace121], theme).data[0].line.color
        among = charts.growth_rate_chart([k48, trace121, k12], theme).data[4]
        assert among.name == "k=12" and among.marker.color == alone
        assert alone == growth_rate_color(look, 12)


def test_print_theme_uses_greys_dashes_and_markers(mixed: list[Trace], k12: Trace,
                                                   trace121: Trace) -> None:
    lines = charts.channel_growth_chart(mixed, "print").data
    assert len({(s.line.dash, s.marker.symbol) for s in lines}) == len(lines)
    assert len({s.line.dash for s in lines}) == len(lines)
    assert all(s.line.color[1:3] == s.line.color[3:5] == s.line.color[5:7] for s in lines)
    bars = [b for b in charts.growth_rate_chart(mixed, "print").data
            if b.showlegend is not False]
    assert len({b.marker.pattern.shape for b in bars}) == len(bars)
    by_k = charts.channel_growth_chart([trace121, k12], "print").data  # k = 32, then 12
    assert lightness(by_k[1].line.color) > lightness(by_k[0].line.color)  # small k lighter
    assert by_k[0].line.dash != by_k[1].line.dash


def test_categorical_colours_never_repeat_in_a_figure(presets: dict[str, Trace]) -> None:
    densenet201 = presets["densenet201"]  # block 3: 48 dense layers, 49 sources
    for theme in THEMES:
        fig = charts.channel_composition_chart(densenet201, 3, theme)
        colors = [bar.marker.color for bar in fig.data]
        assert len(colors) == 49 and len(set(colors)) == 49, theme
    composition = charts.channel_composition_chart(presets["densenet121"], 3)
    colors = {bar.name: bar.marker.color for bar in composition.data}
    assert colors["H11"] != colors["H24"]  # the pair that used to repeat


def test_every_preset_renders_every_chart(presets: dict[str, Trace]) -> None:
    others = [presets["densenet121"], presets["densenet-bc-100"]]
    for name, trace in presets.items():
        extra = [t for t in others if t is not trace]
        for chart_name in registry.CHARTS:
            fig = charts.chart(trace, chart_name, block=len(trace.blocks), theme="print",
                               extra_traces=extra)
            assert fig.data and fig.layout.title.text, (name, chart_name)


# --------------------------------------------------------------------------- tables


def test_stage_table_counts_dense_layers_in_blocks_only(trace121: Trace) -> None:
    from densevis.render.tables import stage_table

    frame = stage_table(trace121)
    blocks = frame[frame["stage"].str.startswith("Dense block")]
    assert blocks["dense layers"].tolist() == [6, 12, 24, 16]
    assert frame[~frame["stage"].str.startswith("Dense block")]["dense layers"].isna().all()


def test_table_1_on_screen_is_markdown_with_every_digit(trace121: Trace) -> None:
    from densevis.render.tables import display_markdown, stage_rows

    lines = display_markdown(stage_rows(trace121)).splitlines()
    assert lines[0] == ("| stage | output size | dense layers | channels in | channels out | "
                        "params | MACs |")
    assert lines[1] == "|:---|:---|---:|---:|---:|---:|---:|"  # numbers right-aligned
    assert lines[2] == "| Stem | 56x56 |  | 3 | 64 | 9,536 | 118,013,952 |"  # blank: no L
    assert lines[3] == "| Dense block 1 | 56x56 | 6 | 64 | 256 | 335,040 | 1,040,449,536 |"
    assert sum(int(line.split("|")[-3].replace(",", "")) for line in lines[2:]) == 7_978_856
    assert display_markdown([{"name": "a|b", "n": None}]).splitlines()[2] == "| a\\|b |  |"


def test_comparison_table_names_size_and_stem(mixed: list[Trace]) -> None:
    table = comparison_table(mixed)
    assert list(table["config"]) == config_names([t.config for t in mixed])
    assert list(table["input"]) == ["224×224", "224×224", "224×224", "32×32"]
    assert list(table["stem"]) == ["imagenet", "imagenet", "imagenet", "cifar"]
    assert list(table["params"])[1:3] == [7_978_856, 14_149_480]


def test_stage_difference_table(trace121: Trace, k12: Trace, presets: dict[str, Trace]) -> None:
    table = stage_difference_table([k12, trace121])
    block1 = table[table["stage"] == "Dense block 1"].set_index("config")
    assert list(block1["dense layers"]) == [6, 6]
    assert table[table["stage"] == "Stem"]["dense layers"].isna().all()
    assert list(block1["channels out"]) == [64 + 6 * 12, 64 + 6 * 32]  # k0 + L k
    growth = trace121.stages()[1].params - k12.stages()[1].params
    assert block1.loc["k=32 (densenet121)", "Δ params"] == growth
    assert block1.loc["k=32 (densenet121)", "× params"] == (
        f"{trace121.stages()[1].params / k12.stages()[1].params:.2f}x")
    assert table["params"].sum() == trace121.totals.params + k12.totals.params
    # densenet169 differs from 121 from block 3 on (blocks 6-12-32-32 against 6-12-24-16)
    pair = [trace121, presets["densenet169"]]
    assert differing_stages(pair) == ["block3", "transition3", "block4", "head"]
    only = stage_difference_table(pair, differences_only=True)
    assert list(only["stage"].unique()) == ["Dense block 3", "Transition 3", "Dense block 4",
                                            "Classification"]
    assert list(only["dense layers"][:2]) == [24, 32]
    conv = "features.denseblock1.denselayer1.conv1"
    timed = stage_difference_table(pair, latency_ms=[{conv: 2.0}, {conv: 3.0}])
    row = timed[(timed["stage"] == "Dense block 1")].iloc[1]
    assert row["latency ms"] == 3.0 and row["× latency"] == "1.50x"


# --------------------------------------------------------------------------- compared diagrams


def test_compared_layouts_share_one_channel_scale(trace121: Trace, k12: Trace,
                                                  presets: dict[str, Trace]) -> None:
    small, large = compared_layouts([k12, trace121], "block", block=2, layer=5)
    assert (small.title, large.title) == ("k=12", "k=32 (densenet121)")
    out = "features.denseblock2.output"
    # block 2: k0 = 68 and 128, output 68 + 12·12 = 212 and 128 + 12·32 = 512 channels
    assert large.node(out).w / small.node(out).w == pytest.approx(512 / 212)
    assert max(n.w for n in large.nodes) == pytest.approx(WIDEST_BOX["block"])
    layer = "features.denseblock2.denselayer5"
    assert small.node(layer).state == large.node(layer).state == "focus"
    for lay in (small, large):  # widened to the right: the arcs still enter on the left edge
        assert {round(n.x - n.w / 2, 6) for n in lay.nodes if n.role == "dense-layer"} == {
            round(lay.nodes[1].x - lay.nodes[1].w / 2, 6)}
    pair = [trace121, presets["densenet169"]]
    shown = compared_layouts(pair, "overview", block=3, differences_only=True)
    ids = [n.id for n in shown[0].nodes]
    assert ids[:2] == ["features.denseblock3", "features.transition3"] and "input" not in ids
    assert shown[0].node("features.denseblock3").state == "focus"
    with pytest.raises(DenseVisError, match="no dense block 4"):
        compared_layouts([presets["densenet-bc-100"], trace121], "block", block=4)
    joined = side_by_side([small, large])  # one drawing for files, on the same scale
    assert joined.node("c1/name").lines == ("k=12",)
    assert joined.node(f"c2/{out}").w == large.node(out).w
    assert len(joined.edges) == len(small.edges) + len(large.edges)
    assert joined.node(f"c1/{out}").x + joined.node(f"c1/{out}").w / 2 < min(
        x for edge in joined.edges if edge.source.startswith("c2/") for x, _ in edge.points)
