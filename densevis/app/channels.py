"""Channels: the k0 + k(l-1) sawtooth across the network, for this config and others."""

from __future__ import annotations

import streamlit as st

from densevis.app.downloads import show_chart
from densevis.app.state import KEEP, current
from densevis.app.traces import needs_blocks, require_trace, trace_of, with_growth_rate
from densevis.config import PRESETS, DenseNetConfig
from densevis.records import Trace
from densevis.render.charts import channel_growth_chart
from densevis.render.registry import GROWTH_RATES


def render() -> None:
    trace = require_trace()
    if trace is None or needs_blocks(trace):
        return
    state = current()
    st.title("Channel growth")
    st.caption("Input channels of every dense layer: each layer adds k, each transition "
               "compresses by θ.")
    traces = [trace]
    if trace.config is not None:  # overlays rebuild the config: a custom module has none
        traces += _overlays(trace, trace.config, state.device)
    show_chart(channel_growth_chart(traces, theme=state.theme), "channels_chart", traces,
               "channels")


def _overlays(trace: Trace, config: DenseNetConfig, device: str) -> list[Trace]:
    """The same blocks at other growth rates, and presets, as the user picks them."""
    left, right = st.columns(2)
    rates = left.multiselect("Overlay growth rates (same blocks)", GROWTH_RATES,
                             default=[k for k in GROWTH_RATES if k != config.growth_rate],
                             key="channels_rates", persist_state=KEEP)
    presets = right.multiselect("Overlay presets", list(PRESETS),
                                key="channels_presets", persist_state=KEEP)
    with st.spinner("Tracing the other configs…"):
        traces = [trace_of(with_growth_rate(config, k), device) for k in rates
                  if k != config.growth_rate]
        traces += [trace_of(PRESETS[name], device) for name in presets]
    return traces


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
