"""Export: every diagram, chart and table in every format, and a slide deck, for the current
config and theme. Files are made when their button is clicked, not before."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from densevis.app.state import current, latency_for, require_trace, trace_of, with_growth_rate
from densevis.records import Trace
from densevis.render.diagrams import DiagramOptions, diagram
from densevis.render.export import (
    CHART_FORMATS,
    DIAGRAM_FORMATS,
    deck_bytes,
    diagram_bytes,
    figure_bytes,
)
from densevis.render.registry import CHART_TITLES, CHARTS, DIRECTIONS, GROWTH_RATES, VIEWS
from densevis.render.tables import TABLE_FORMATS, block_table, layer_table, stage_table, table_text

MIME = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf",
        "dot": "text/vnd.graphviz", "html": "text/html", "csv": "text/csv",
        "markdown": "text/markdown", "latex": "application/x-latex",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
if TYPE_CHECKING:
    import graphviz
    import plotly.graph_objects as go

SUFFIX = {"markdown": "md", "latex": "tex"}


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    state = current()
    stem = trace.model.replace(" ", "").replace(",", "_").replace("=", "")
    st.title("Export")
    st.caption(f"{trace.model}, theme “{state.theme}”. PNG diagrams are 300 dpi for slides.")

    st.subheader("Diagrams")
    cols = st.columns([2, 1, 1, 1])
    view = cols[0].selectbox("View", VIEWS, key="export_view")
    block = cols[1].selectbox("Block", [b.index for b in trace.blocks], key="export_block")
    layers = trace.block(block).dense_layers
    if st.session_state.get("export_layer", 1) > layers:
        st.session_state["export_layer"] = layers
    layer = cols[2].number_input("Layer", 1, layers, key="export_layer")
    direction = cols[3].radio("Direction", DIRECTIONS, horizontal=True, key="export_dir")
    options = DiagramOptions(direction=direction, theme=state.theme,
                             latency_ms=latency_for(trace.config))

    def make_graph() -> graphviz.Digraph:
        return diagram(trace, view, block=block, layer=min(int(layer), layers), options=options)

    _buttons(f"{stem}-{view}", DIAGRAM_FORMATS,
             lambda fmt: lambda: diagram_bytes(make_graph(), fmt), "export_diagram")

    st.subheader("Charts")
    cols = st.columns([2, 1])
    name = cols[0].selectbox("Chart", CHARTS, format_func=CHART_TITLES.get, key="export_chart")
    chart_block = cols[1].selectbox("Block", [b.index for b in trace.blocks],
                                    key="export_chart_block")

    def make_figure() -> go.Figure:
        from densevis.render.charts import chart

        return chart(trace, name, block=chart_block, theme=state.theme,
                     extra_traces=_variants(trace, state.device))

    _buttons(f"{stem}-{name}", CHART_FORMATS, lambda fmt: lambda: figure_bytes(make_figure(), fmt),
             "export_chart")

    st.subheader("Tables")
    tables = {"layers": layer_table(trace, latency_for(trace.config)),
              "stages": stage_table(trace), "blocks": block_table(trace)}
    which = st.selectbox("Table", list(tables), key="export_table")
    _buttons(f"{stem}-{which}", TABLE_FORMATS,
             lambda fmt: lambda: table_text(tables[which], fmt).encode(), "export_table")

    st.subheader("Slide deck")
    st.caption("A 16:9 title slide with the config and headline numbers, then the overview, "
               "every block, and the channel, connectivity, cost and growth charts.")

    def make_deck() -> bytes:
        from densevis.render.charts import chart

        graphs = [("Overview", diagram(trace, "overview", options=options))]
        graphs += [(f"Dense block {b.index}", diagram(trace, "block", block=b.index,
                                                      options=options)) for b in trace.blocks]
        figures = [(CHART_TITLES[n], chart(trace, n, block=len(trace.blocks), theme=state.theme,
                                           extra_traces=_variants(trace, state.device)))
                   for n in ("channels", "connectivity", "cost", "growth")]
        return deck_bytes(trace, graphs, figures, theme=state.theme)

    st.download_button("Download PPTX deck", make_deck, file_name=f"{stem}.pptx",
                       mime=MIME["pptx"], key="export_pptx", type="primary",
                       on_click="ignore")


def _variants(trace: Trace, device: str) -> list[Trace]:
    """The k = 12, 24, 32, 48 variants that the growth and channel charts compare."""
    return [trace_of(with_growth_rate(trace.config, k), device) for k in GROWTH_RATES
            if k != trace.config.growth_rate]


def _buttons(stem: str, formats: tuple[str, ...], make: Callable[[str], Callable[[], bytes]],
             key: str) -> None:
    for column, fmt in zip(st.columns(len(formats)), formats, strict=True):
        column.download_button(fmt.upper() if fmt not in ("markdown", "latex") else fmt.title(),
                               make(fmt), file_name=f"{stem}.{SUFFIX.get(fmt, fmt)}",
                               mime=MIME[fmt], key=f"{key}_{fmt}", width="stretch",
                               on_click="ignore")
