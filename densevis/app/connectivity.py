"""Connectivity: the link matrix and channel composition of a block, and the channel slices
a chosen layer reads from each earlier layer."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from densevis.app.downloads import show_chart
from densevis.app.state import KEEP, current
from densevis.app.traces import needs_blocks, require_trace
from densevis.render.charts import channel_composition_chart, connectivity_chart


def render() -> None:
    trace = require_trace()
    if trace is None or needs_blocks(trace):
        return
    state = current()
    st.title("Connectivity")
    left, right = st.columns([1, 3])
    block = left.selectbox("Block", [b.index for b in trace.blocks],
                           key="connect_block", persist_state=KEEP)
    value = right.radio("Cell value", ["present", "channels"], horizontal=True,
                        key="connect_value", persist_state=KEEP,
                        format_func={"present": "link present",
                                     "channels": "channels carried"}.get)
    info = trace.block(block)
    st.caption(f"Block {block}: L = {info.dense_layers} layers, {info.links} links into layers "
               f"(L(L+1)/2) plus {info.output_links} into the block output; "
               f"k0 = {info.k0}, k = {info.growth_rate}.")
    show_chart(connectivity_chart(trace, block, value=value, theme=state.theme),
               "connect_matrix", trace, "connectivity", block)
    show_chart(channel_composition_chart(trace, block, theme=state.theme),
               "connect_composition", trace, "composition", block)
    st.subheader("Where a layer's input channels come from")
    if st.session_state.get("connect_layer", 1) > info.dense_layers:
        st.session_state["connect_layer"] = info.dense_layers
    layer = st.select_slider("Layer", list(range(1, info.dense_layers + 1)),
                             key="connect_layer", persist_state=KEEP)
    rows = [{"source": "x0 (block input)" if source == 0 else f"H{source}",
             "channels": end - start, "slice": f"{start}:{end}"}
            for source, start, end in trace.input_slices(block, layer)]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
