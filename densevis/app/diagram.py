"""Diagram: overview, dense-block, dense-layer and full views with pan and zoom, pickers,
node-content and colour-by options, a highlight, and a layer search."""

from __future__ import annotations

import streamlit as st

from densevis.app.state import current, latency_for, require_trace
from densevis.app.widgets import render_diagram, show_svg

VIEW_TITLES = {"overview": "Overview", "block": "Dense block", "layer": "Dense layer",
               "full": "Full network"}
SHOW = {"shape": "shapes", "params": "parameters", "macs": "MACs", "latency": "latency"}
COLOR_BY = {None: "nothing", "params": "parameters", "macs": "MACs",
            "activation": "activation memory", "latency": "latency"}


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    state = current()
    st.title("Diagram")
    dense = trace.dense_layers()
    names = [layer.name.removeprefix("features.") for layer in dense]
    st.text_input("Find a layer", key="diagram_search", on_change=_apply_search,
                  args=(names, [(row.block, row.position) for row in dense]),
                  placeholder="e.g. denseblock3.denselayer12 or 3.12, then Enter")
    missing = st.session_state.get("diagram_search_missing")
    if missing:
        st.warning(f"No dense layer matches {missing!r}; names look like "
                   f"denseblock1.denselayer1 (or 1.1).")

    top = st.columns([2, 1, 1, 1])
    view = top[0].segmented_control("View", list(VIEW_TITLES), format_func=VIEW_TITLES.get,
                                    default="block", key="diagram_view") or "block"
    block = top[1].selectbox("Block", [b.index for b in trace.blocks], key="diagram_block")
    layers_in_block = trace.block(block).dense_layers
    if st.session_state.get("diagram_layer", 1) > layers_in_block:
        st.session_state["diagram_layer"] = 1
    layer = top[2].selectbox("Layer", list(range(1, layers_in_block + 1)), key="diagram_layer")
    direction = top[3].radio("Direction", ["LR", "TB"], horizontal=True,
                             key="diagram_direction")
    latency = latency_for(trace.config)
    options = st.columns([2, 2, 2, 1])
    show_choices = [key for key in SHOW if key != "latency" or latency]
    show = options[0].multiselect("Nodes show", show_choices, default=["shape", "params"],
                                  format_func=SHOW.get, key="diagram_show")
    color_choices = [key for key in COLOR_BY if key != "latency" or latency]
    color_by = options[1].selectbox("Colour by", color_choices, format_func=COLOR_BY.get,
                                    key="diagram_color")
    highlight = options[2].selectbox("Highlight a layer's inputs and consumers",
                                     [None, *names], key="diagram_highlight",
                                     format_func=lambda n: "none" if n is None else n)
    expand = options[3].toggle("Expand ops", key="diagram_expand",
                               help="Full view: show BN/ReLU/conv inside every dense layer.")
    if latency is None:
        st.caption("Measure latency on the Latency page to show and colour by it.")
    with st.spinner("Laying out the diagram…"):
        svg = render_diagram(
            trace.config, state.device, view, block=block, layer=layer, direction=direction,
            show=tuple(show), color_by=color_by, theme=state.theme, expand=expand,
            highlight=f"features.{highlight}" if highlight else None,
            latency_ms=latency,
        )
    if svg is not None:
        show_svg(svg, height=620, theme=state.theme, alt=f"{view} diagram")


def _apply_search(names: list[str], places: list[tuple[int, int]]) -> None:
    """When the search text changes: pick the found layer's block, layer and highlight."""
    state = st.session_state
    query = state.get("diagram_search", "")
    found = _search(query, names) if query else None
    state["diagram_search_missing"] = query if query and found is None else None
    if found is not None:
        state["diagram_block"], state["diagram_layer"] = places[found]
        state["diagram_highlight"] = names[found]


def _search(query: str, names: list[str]) -> int | None:
    """Index of the first dense layer whose name contains the query (or 'B.L')."""
    text = query.strip().lower().removeprefix("features.")
    parts = text.split(".")
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        text = f"denseblock{parts[0]}.denselayer{parts[1]}"
    for index, name in enumerate(names):
        if name == text:
            return index
    for index, name in enumerate(names):
        if text in name:
            return index
    return None
