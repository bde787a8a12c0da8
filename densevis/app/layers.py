"""Layers: the per-layer table, sortable and filterable, with a CSV download."""

from __future__ import annotations

import streamlit as st

from densevis.app.state import KEEP, current
from densevis.app.traces import latency_for, require_trace, source_of
from densevis.app.widgets import NUMBER_COLUMNS, show_figure
from densevis.records import Trace
from densevis.render.tables import layer_table, table_text


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    st.title("Layers")
    latency = latency_for(source_of(trace))
    frame = layer_table(trace, latency_ms=latency)
    blocks = ["stem / transitions / head", *[f"block {b.index}" for b in trace.blocks]]
    kinds = sorted(frame["kind"].unique())
    left, middle, right = st.columns([2, 2, 3])
    chosen_blocks = left.multiselect("Blocks", blocks, default=blocks,
                                     key="layers_blocks", persist_state=KEEP)
    chosen_kinds = middle.multiselect("Kinds", kinds, default=kinds,
                                      key="layers_kinds", persist_state=KEEP)
    text = right.text_input("Filter by name", key="layers_filter", persist_state=KEEP,
                            placeholder="e.g. denseblock3.denselayer5 or conv2")
    wanted = {None if name.startswith("stem") else int(name.split()[1])
              for name in chosen_blocks}
    block_of = [layer.block for layer in trace.ops]
    mask = [b in wanted for b in block_of]
    shown = frame[mask]
    shown = shown[shown["kind"].isin(chosen_kinds)]
    if text:
        shown = shown[shown["layer"].str.contains(text.strip(), case=False, regex=False)]
    st.caption(f"{len(shown)} of {len(frame)} ops · click a column header to sort")
    st.dataframe(shown, hide_index=True, width="stretch", height=560,
                 column_config=NUMBER_COLUMNS)
    _cost_charts(trace, latency)
    st.download_button("Download CSV", table_text(shown, "csv"),
                       file_name=f"{trace.model.replace(' ', '_')}-layers.csv", mime="text/csv",
                       key="layers_csv", on_click="ignore")


def _cost_charts(trace: Trace, latency: dict[str, float] | None) -> None:
    """Cost per dense layer, coloured by block, and the block-level breakdown."""
    from densevis.render.charts import cost_breakdown_chart, cost_chart

    theme = current().theme
    metrics = {"macs": "MACs", "params": "parameters", "activation": "activation memory"}
    if latency:
        metrics["latency"] = "latency (measured)"
    with st.expander("Cost per layer and per block", expanded=True):
        if trace.blocks:  # a custom module may have none: then the stages only
            metric = st.radio("Metric", list(metrics), format_func=metrics.get,
                              horizontal=True, key="layers_metric", persist_state=KEEP)
            show_figure(cost_chart(trace, metric, theme=theme, latency_ms=latency),
                        key="layers_cost")
        show_figure(cost_breakdown_chart(trace, theme=theme), key="layers_breakdown")


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
