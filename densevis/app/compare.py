"""Compare: 2-4 configs side by side: totals, the same diagram view of each on one channel
scale, a block-by-block difference table, charts that stay true for any mix, and a sweep."""

from __future__ import annotations

import math
import re
from html import escape

import streamlit as st

from densevis.app.downloads import show_chart
from densevis.app.state import current
from densevis.app.text import plain
from densevis.app.traces import latency_for, needs_config, require_trace, trace_of, with_growth_rate
from densevis.app.widgets import NUMBER_COLUMNS
from densevis.config import PRESETS, DenseNetConfig
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render.charts import channel_growth_chart, growth_rate_chart
from densevis.render.configs import config_names, config_styles, shared_description
from densevis.render.layout import Layout
from densevis.render.registry import GROWTH_RATE_LIMITS, GROWTH_RATES, SWEEP_RATES
from densevis.render.tables import comparison_table, differing_stages, stage_difference_table
from densevis.render.theme import get_theme
from densevis.spec import parse_config_spec

_FIT_WIDTH = 1150  # px the diagrams share before they scroll
_PT = 4 / 3  # px per point
_MAX_HEIGHT = 1600  # px of the diagrams' frame: they shrink to fit it, down to _MIN_SCALE
_GAP = 18  # px between the configs' diagrams
_MIN_SCALE = 0.6  # the diagrams' text stays at least 0.6 of its size: else another row
_STAGE_COLUMNS = {**NUMBER_COLUMNS, **{name: st.column_config.NumberColumn(format="localized")
                                      for name in ("Δ params", "Δ MACs")}}
_URL = "query-params"  # the page's choices live in the URL: a comparison can be shared


def render() -> None:
    trace = require_trace()
    if trace is None or needs_config(trace, "Comparing configs"):
        return
    state = current()
    st.title("Compare")
    st.caption("Growth rates on the current config, presets, and configs of your own; "
               "2 to 4 in all.")
    configs = _pick_configs(trace.config)
    if configs is None:
        return
    with st.spinner("Tracing the configs…"):
        try:
            traces = [trace_of(config, state.device) for config in configs]
        except DenseVisError as problem:
            st.error(plain(problem))
            return
    shared = shared_description(configs)
    st.caption(f"Shared by all: {shared}." if shared else "The configs share no block "
               "config, input size or stem: charts show one bar per config.")
    latencies = [latency_for(config) for config in configs]
    measured = None
    if any(latencies):
        measured = [sum(values.values()) if values else None for values in latencies]
    st.dataframe(comparison_table(traces, measured), hide_index=True, width="stretch",
                 column_config=NUMBER_COLUMNS)
    differences = st.toggle("Differences only", key="compare_differences", bind=_URL,
                            help="Only the blocks and stages whose dense layers, channels, "
                                 "params or MACs differ between the configs.")
    _diagrams(traces, configs, state.device, state.theme, differences)
    st.subheader("Block by block")
    st.caption("Each stage of each config; Δ and × against the first config's same stage.")
    st.dataframe(stage_difference_table(traces, latencies if measured else None,
                                        differences_only=differences),
                 hide_index=True, width="stretch", column_config=_STAGE_COLUMNS)
    st.subheader("Charts")
    show_chart(growth_rate_chart(traces, theme=state.theme), "compare_growth", traces, "growth")
    show_chart(channel_growth_chart(traces, theme=state.theme), "compare_channels", traces,
               "channels")
    _sweep(trace.config, state.device, state.theme)


def _pick_configs(base: DenseNetConfig) -> list[DenseNetConfig] | None:
    """The configs the pickers name (None after saying why there are none to compare)."""
    left, right = st.columns(2)
    rates = left.multiselect("Growth rates", (*SWEEP_RATES, GROWTH_RATE_LIMITS[1]),
                             default=list(GROWTH_RATES), key="compare_rates", bind=_URL)
    presets = right.multiselect("Presets", list(PRESETS), key="compare_presets", bind=_URL)
    custom = st.text_area("More configs, one per line (a preset and/or fields)",
                          key="compare_custom", height=80, bind=_URL,
                          placeholder="k=24 blocks=6,12,32,32 theta=0.5\ndensenet-bc-100 k=24")
    configs = [with_growth_rate(base, k) for k in rates]
    configs += [PRESETS[name] for name in presets]
    for number, line in enumerate(custom.splitlines(), start=1):
        if line.strip():
            try:
                configs.append(parse_config_spec(line, base=base))
            except DenseVisError as problem:
                st.error(f"line {number}: {plain(problem)}")
                return None
    if not 2 <= len(configs) <= 4:
        st.error(f"Pick 2 to 4 configs to compare (now {len(configs)}).")
        return None
    return configs


def _view_choices(traces: list[Trace], differences: bool) -> list[str]:
    """"overview" and every dense block all configs have (only differing ones if asked)."""
    common = min(len(t.blocks) for t in traces)
    differ = set(differing_stages(traces)) if differences else None
    return ["overview"] + [f"dense block {n}" for n in range(1, common + 1)
                           if differ is None or f"block{n}" in differ]


def _diagrams(traces: list[Trace], configs: list[DenseNetConfig], device: str, theme: str,
              differences: bool) -> None:
    st.subheader("Diagrams")
    st.caption("The same view of every config, top to bottom, on one scale: each box is as "
               "wide as its channels. The selection is highlighted in each.")
    left, right = st.columns(2)
    choice = left.selectbox("View", _view_choices(traces, differences), key="compare_view",
                            bind=_URL)
    common = min(len(t.blocks) for t in traces)
    if choice == "overview":
        view, layer = "overview", None
        block = right.selectbox("Highlighted dense block", range(1, common + 1),
                                key="compare_block", bind=_URL)
    else:
        view, block = "block", int(choice.rsplit(" ", 1)[1])
        most = max(t.block(block).dense_layers for t in traces)
        layer = right.number_input("Highlighted dense layer (0: none)", 0, most,
                                   key="compare_layer", bind=_URL) or None
    keys = tuple(configs)  # frozen configs: Streamlit's caches hash them as they are
    try:
        svgs = compare_svgs(keys, device, view, block, layer, differences, theme)
    except DenseVisError as problem:
        st.error(plain(problem))
        return
    names = config_names(configs)
    colors = [style.color for style in config_styles(configs, theme)]
    page, height = _side_by_side(svgs, names, colors, theme)
    st.iframe(page, height=height, alt="the compared diagrams")
    _downloads(traces, (keys, device, view, block, layer, differences, theme))


def _downloads(traces: list[Trace], place: tuple) -> None:
    """Export this view: the configs side by side in one file, named after what it holds."""
    from densevis.app.export import MIME
    from densevis.render.export import DIAGRAM_FORMATS, file_name

    _, _, view, block, layer, _, _ = place
    name = file_name(traces, view, block=block if view == "block" else None,
                     highlight=(block, layer) if layer else None)
    for column, fmt in zip(st.columns(len(DIAGRAM_FORMATS)), DIAGRAM_FORMATS, strict=True):
        column.download_button(f"{fmt.upper()}", lambda fmt=fmt: compare_file(*place, fmt),
                               file_name=f"{name}.{fmt}", mime=MIME[fmt],
                               key=f"compare_download_{fmt}",
                               width="stretch", on_click="ignore")


def _layouts(configs: tuple[DenseNetConfig, ...], device: str, view: str, block: int,
             layer: int | None, differences: bool, theme: str) -> list[Layout]:
    from densevis.render.comparison import compared_layouts

    traces = [trace_of(config, device) for config in configs]
    return compared_layouts(traces, view, block, layer, differences, theme)


@st.cache_data(show_spinner=False, max_entries=64)
def compare_svgs(configs: tuple[DenseNetConfig, ...], device: str, view: str, block: int,
                 layer: int | None, differences: bool, theme: str) -> list[str]:
    """Each config's view as SVG text, drawn on one shared channel scale."""
    from densevis.render.export import diagram_bytes
    from densevis.render.graphviz import to_graphviz

    layouts = _layouts(configs, device, view, block, layer, differences, theme)
    return [diagram_bytes(to_graphviz(layout, theme), "svg").decode("utf-8")
            for layout in layouts]


@st.cache_data(show_spinner=False, max_entries=16)
def compare_file(configs: tuple[DenseNetConfig, ...], device: str, view: str, block: int,
                 layer: int | None, differences: bool, theme: str, fmt: str) -> bytes:
    """The compared view as one file (the configs side by side, one scale)."""
    from densevis.render.comparison import side_by_side
    from densevis.render.export import diagram_bytes
    from densevis.render.graphviz import to_graphviz
    from densevis.render.slide import fit_slide

    layouts = _layouts(configs, device, view, block, layer, differences, theme)
    return diagram_bytes(to_graphviz(fit_slide(side_by_side(layouts)), theme), fmt)


def _points(svg: str, attribute: str) -> float:
    match = re.search(rf'<svg[^>]*\b{attribute}="([0-9.]+)pt"', svg)
    return float(match.group(1)) if match else 400.0


def _side_by_side(svgs: list[str], names: list[str], colors: list[str],
                  theme: str) -> tuple[str, int]:
    """(HTML page, its height in px): the SVGs scaled by one factor (so one scale holds
    across configs), each under its config's name and colour, in rows that wrap rather than
    hide a config past the frame's right edge."""
    look = get_theme(theme)
    widths = [_points(svg, "width") * _PT for svg in svgs]
    heights = [_points(svg, "height") * _PT for svg in svgs]
    per_row, factor = _arrangement(widths)
    rows = [range(i, min(i + per_row, len(svgs))) for i in range(0, len(svgs), per_row)]
    drawn = sum(max(heights[i] for i in row) for row in rows)  # px at full size
    factor = max(_MIN_SCALE, min(factor, (_MAX_HEIGHT - 30 - 30 * len(rows)) / drawn))
    cells = []
    for svg, name, color, width, height in zip(svgs, names, colors, widths, heights,
                                               strict=True):
        body = svg[svg.index("<svg"):]
        body = re.sub(r'<svg([^>]*?)\bwidth="[^"]*"\s+height="[^"]*"',
                      rf'<svg\1width="{width * factor:.0f}px" height="{height * factor:.0f}px"',
                      body, count=1)
        cells.append(
            f'<div class="compare-config" data-config="{escape(name)}" style="flex:0 0 auto">'
            f'<div style="font:600 14px sans-serif;margin:4px 0 6px;color:{look.foreground}">'
            f'<span style="display:inline-block;width:12px;height:12px;border-radius:3px;'
            f'background:{color};margin-right:6px;vertical-align:-1px"></span>{escape(name)}'
            f"</div>{body}</div>")
    height = int(min(drawn * factor + 30 * len(rows) + 30, _MAX_HEIGHT))
    breaks = [cell + ('<div style="flex-basis:100%;height:0"></div>'
                      if (index + 1) % per_row == 0 else "") for index, cell in enumerate(cells)]
    page = (f'<body style="margin:0;background:{look.backdrop}">'
            f'<div class="compare-diagrams" style="display:flex;flex-wrap:wrap;gap:{_GAP}px;'
            f"overflow:auto;box-sizing:border-box;height:{height}px;padding:10px;"
            f'border-radius:6px;border:1px solid #8884">{"".join(breaks)}</div></body>')
    return page, height + 4


def _arrangement(widths: list[float]) -> tuple[int, float]:
    """(configs per row, one scale factor for all): the fewest rows, shared out evenly (four
    in two rows: two and two), in which the diagrams fit the frame at a readable scale."""
    for rows in range(1, len(widths) + 1):
        per_row = math.ceil(len(widths) / rows)
        widest = max(sum(widths[i:i + per_row]) + _GAP * (per_row - 1)
                     for i in range(0, len(widths), per_row))
        if _FIT_WIDTH / widest >= _MIN_SCALE:
            return per_row, min(1.0, _FIT_WIDTH / widest)
    return 1, max(_MIN_SCALE, min(1.0, _FIT_WIDTH / max(widths)))


def _sweep(config: DenseNetConfig, device: str, theme: str) -> None:
    st.subheader("Growth-rate sweep")
    st.caption(f"k = {SWEEP_RATES[0]} … {SWEEP_RATES[-1]} on the current config's blocks.")
    with st.spinner("Tracing the sweep…"):
        sweep = [trace_of(with_growth_rate(config, k), device) for k in SWEEP_RATES]
    show_chart(growth_rate_chart(sweep, theme=theme), "compare_sweep", sweep, "sweep")


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
