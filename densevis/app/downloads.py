""""Export this view": a download menu beside a diagram or a chart that exports exactly what
the page shows, named after what it holds. A page calls one function; files are made only
when their button is clicked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import plotly.graph_objects as go
import streamlit as st

from densevis.records import Trace
from densevis.render.export import (
    CHART_FORMATS,
    DEFAULT_DPI,
    DIAGRAM_FORMATS,
    DPI_CHOICES,
    diagram_bytes,
    figure_bytes,
    file_name,
    view_graph,
)
from densevis.render.layout import DiagramOptions
from densevis.search import find_dense_layer

MIME = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf",
        "dot": "text/vnd.graphviz", "html": "text/html", "csv": "text/csv",
        "markdown": "text/markdown", "latex": "application/x-latex",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
SUFFIX = {"markdown": "md", "latex": "tex"}
LABELS = {"markdown": "Markdown", "latex": "LaTeX"}  # others: the format in capitals
MENU = "Export this view"


def download_buttons(name: Callable[[str], str], formats: Sequence[str],
                     make: Callable[[str], Callable[[], bytes]], key: str,
                     stacked: bool = False) -> None:
    """One download button per format, in a row (or a column, for a menu); each file is made
    when its button is clicked."""
    places = [st.container() for _ in formats] if stacked else st.columns(len(formats))
    for column, fmt in zip(places, formats, strict=True):
        column.download_button(LABELS.get(fmt, fmt.upper()), make(fmt),
                               file_name=name(SUFFIX.get(fmt, fmt)), mime=MIME[fmt],
                               key=f"{key}_{fmt}", width="stretch", on_click="ignore")


def dpi_picker(key: str) -> int:
    """The PNG resolution, 150 dpi unless chosen."""
    return st.segmented_control(
        "PNG resolution", DPI_CHOICES, default=DEFAULT_DPI, key=key,
        format_func=lambda d: f"{d} dpi",
        help="PNG and PDF fill a 13.33 × 7.5 in (16:9) slide; 150 dpi suits slides, "
             "300 print. The resolution is written in the PNG.") or DEFAULT_DPI


def highlighted(trace: Trace, options: DiagramOptions) -> tuple[int, int] | None:
    """(block, layer) of the options' highlight, for the file name."""
    row = find_dense_layer(trace, options.highlight) if options.highlight else None
    return (row.block, row.position) if row is not None else None


def diagram_name(trace: Trace, view: str, block: int, layer: int,
                 options: DiagramOptions) -> Callable[[str], str]:
    """The file name of a view as shown (block and layer only where the view uses them)."""
    mark = highlighted(trace, options) if view in ("block", "full") else None
    return lambda fmt: file_name(trace, view, fmt, block=block if view in ("block", "layer")
                                 else None, layer=layer if view == "layer" else None,
                                 highlight=mark)


def diagram_downloads(trace: Trace, view: str, block: int, layer: int,
                      options: DiagramOptions, highlight: str | None = None,
                      key: str = "view_export") -> None:
    """The menu for a diagram: SVG, PNG, PDF and DOT of this view with these options (view,
    block, layer, colour-by, node contents, direction, theme) and this highlighted dense
    layer (a full name), as a 16:9 slide unless switched off."""
    if highlight is not None:
        options = replace(options, highlight=highlight)
    with st.popover(MENU, icon=":material/download:"):
        slide = st.toggle("Fill a 16:9 slide", value=True, key=f"{key}_slide",
                          help="Fold long strips into rows and raise low arcs so the picture "
                               "fills a slide; off: the layout as on screen.")
        dpi = dpi_picker(f"{key}_dpi")
        download_buttons(diagram_name(trace, view, block, layer, options), DIAGRAM_FORMATS,
                         lambda fmt: lambda: diagram_bytes(
                             view_graph(trace, view, block, layer, options, slide), fmt, dpi),
                         key, stacked=True)


def figure_downloads(traces: Trace | Sequence[Trace], name: str, figure: go.Figure,
                     key: str, block: int | None = None) -> None:
    """The menu for a chart: SVG, PNG, PDF and a self-contained HTML page of this figure."""
    with st.popover(MENU, icon=":material/download:"):
        dpi = dpi_picker(f"{key}_dpi")
        download_buttons(lambda fmt: file_name(traces, name, fmt, block=block), CHART_FORMATS,
                         lambda fmt: lambda: figure_bytes(figure, fmt, dpi), key, stacked=True)


def show_chart(figure: go.Figure, key: str, traces: Trace | Sequence[Trace], name: str,
               block: int | None = None) -> None:
    """A chart with its "Export this view" menu under it."""
    from densevis.app.widgets import show_figure

    show_figure(figure, key=key)
    figure_downloads(traces, name, figure, key=f"{key}_export", block=block)
