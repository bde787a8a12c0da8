"""Export: a diagram, a chart or a table in every format with a preview of what is chosen,
and the slide kit's deck. Files are made when their button is clicked, and named after what
they hold (densenet121-k32-block3-layer12.svg)."""

from __future__ import annotations

import streamlit as st

from densevis.app.downloads import MIME, diagram_name, download_buttons, dpi_picker
from densevis.app.state import KEEP, current
from densevis.app.traces import (
    Source,
    latency_for,
    require_trace,
    source_of,
    trace_of,
    with_growth_rate,
)
from densevis.app.widgets import show_figure, show_svg
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render.export import (
    CHART_FORMATS,
    DIAGRAM_FORMATS,
    diagram_bytes,
    figure_bytes,
    file_name,
    kit_deck,
    view_graph,
)
from densevis.render.layout import DiagramOptions
from densevis.render.registry import (
    CHART_TITLES,
    CHARTS,
    DIRECTIONS,
    GROWTH_RATES,
    VIEW_TITLES,
    VIEWS,
)
from densevis.render.tables import TABLE_FORMATS, block_table, layer_table, stage_table, table_text
from densevis.search import find_dense_layer

PER_BLOCK_CHARTS = ("composition", "connectivity")


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    st.title("Export")
    dpi = dpi_picker("export_dpi")
    _diagrams(trace, dpi)
    _charts(trace, dpi)
    _tables(trace)
    _deck(trace, dpi)


@st.cache_data(show_spinner=False, max_entries=32)
def _export_svg(source: Source, device: str, view: str, block: int, layer: int,
                options: DiagramOptions, slide: bool) -> bytes:
    """The SVG the diagram buttons give, for the preview."""
    trace = trace_of(source, device)
    return diagram_bytes(view_graph(trace, view, block, layer, options, slide), "svg")


def _diagrams(trace: Trace, dpi: int) -> None:
    state = current()
    st.subheader("Diagram")
    cols = st.columns([4, 1, 1, 1])  # the view control needs ~520 px for its 4 buttons
    views = VIEWS if trace.blocks else ("overview",)  # a custom module may have no block
    view = cols[0].segmented_control("View", views, default="overview",
                                     format_func=VIEW_TITLES.get,
                                     key="export_view", persist_state=KEEP) or "overview"
    block = layer = 1
    if view in ("block", "layer"):
        block = cols[1].selectbox("Block", [b.index for b in trace.blocks],
                                  key="export_block", persist_state=KEEP)
    if view == "layer":
        layers = trace.block(block).dense_layers
        layer = cols[2].selectbox("Layer", list(range(1, layers + 1)),
                                  key="export_layer", persist_state=KEEP)
    direction = cols[3].radio("Direction", DIRECTIONS, horizontal=True,
                              key="export_dir", persist_state=KEEP)
    slide = st.toggle("Fill a 16:9 slide", value=True, key="export_slide", persist_state=KEEP,
                      help="Fold long strips into rows and raise low arcs so the picture fills "
                           "a slide; off: the layout as the Diagram page draws it.")
    options = DiagramOptions(direction=direction, theme=state.theme,
                             latency_ms=latency_for(source_of(trace)))
    name = diagram_name(trace, view, block, layer, options)
    download_buttons(name, DIAGRAM_FORMATS, lambda fmt: lambda: diagram_bytes(
        view_graph(trace, view, block, layer, options, slide), fmt, dpi), "export_diagram")
    st.caption(f"Preview of {name('*')} (PNG at {dpi} dpi)")
    svg = _export_svg(source_of(trace), state.device, view, block, layer, options, slide)
    show_svg(svg, height=420, theme=state.theme, alt=f"preview: {view} diagram")


def _charts(trace: Trace, dpi: int) -> None:
    state = current()
    st.subheader("Chart")
    cols = st.columns([3, 1])
    name = cols[0].selectbox("Chart", CHARTS, format_func=CHART_TITLES.get,
                             key="export_chart", persist_state=KEEP)
    block = None
    if name in PER_BLOCK_CHARTS:
        block = cols[1].selectbox("Block", [b.index for b in trace.blocks],
                                  key="export_chart_block", persist_state=KEEP)
    from densevis.render.charts import chart

    extra = _variants(trace, state.device) if name in ("channels", "growth") else None
    try:
        figure = chart(trace, name, block=block or 1, theme=state.theme, extra_traces=extra)
    except DenseVisError as problem:  # e.g. no dense blocks, or no config to compare
        st.info(str(problem))
        return
    download_buttons(lambda fmt: file_name(trace, name, fmt, block=block), CHART_FORMATS,
                     lambda fmt: lambda: figure_bytes(figure, fmt, dpi), "export_chart")
    st.caption(f"Preview of {file_name(trace, name, '*', block=block)} (PNG at {dpi} dpi)")
    show_figure(figure, key="export_chart_preview")


def _tables(trace: Trace) -> None:
    st.subheader("Table")
    tables = {"layers": layer_table(trace, latency_for(source_of(trace))),
              "stages": stage_table(trace), "blocks": block_table(trace)}
    which = st.selectbox("Table", list(tables), key="export_table", persist_state=KEEP)
    download_buttons(lambda fmt: file_name(trace, which, fmt), TABLE_FORMATS,
                     lambda fmt: lambda: table_text(tables[which], fmt).encode(), "export_table")


def _deck(trace: Trace, dpi: int) -> None:
    state = current()
    st.subheader("Slide deck")
    selected = _selected_layer(trace)
    inside = (f"inside dense layer H{selected[1]} of block {selected[0]} (the Diagram page's "
              "selected layer), " if selected else "")
    st.caption("The same deck as `densevis export --all`: a title slide with the config and "
               f"headline numbers, the overview, every dense block, {inside}the full network "
               "(each laid out for 16:9), then the channel, composition, connectivity, cost and "
               "growth charts; each picture centred under its one title.")

    def make_deck() -> bytes:
        return kit_deck(trace, _variants(trace, state.device), state.theme, selected, dpi)

    st.download_button("Download PPTX deck", make_deck, file_name=file_name(trace, "deck", "pptx"),
                       mime=MIME["pptx"], key="export_pptx", type="primary", on_click="ignore")


def _selected_layer(trace: Trace) -> tuple[int, int] | None:
    """The dense layer selected on the Diagram page, if any."""
    for key in ("highlight", "diagram_highlight"):
        name = st.session_state.get(key)
        row = find_dense_layer(trace, name) if isinstance(name, str) and name else None
        if row is not None:
            return row.block, row.position
    return None


def _variants(trace: Trace, device: str) -> list[Trace]:
    """The k = 12, 24, 32, 48 variants that the growth and channel charts compare."""
    if trace.config is None:  # a custom module: no config to rebuild at other k
        return []
    return [trace_of(with_growth_rate(trace.config, k), device) for k in GROWTH_RATES
            if k != trace.config.growth_rate]


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
