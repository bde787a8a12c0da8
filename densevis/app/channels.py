"""Channels: the k0 + k(l-1) sawtooth across the network, for this config and others."""

from __future__ import annotations

import streamlit as st

from densevis.app.state import current, require_trace, trace_of, with_growth_rate
from densevis.app.widgets import show_figure
from densevis.config import PRESETS
from densevis.render.charts import channel_growth_chart
from densevis.render.registry import GROWTH_RATES


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    state = current()
    st.title("Channel growth")
    st.caption("Input channels of every dense layer: each layer adds k, each transition "
               "compresses by θ.")
    left, right = st.columns(2)
    rates = left.multiselect("Overlay growth rates (same blocks)", GROWTH_RATES,
                             default=[k for k in GROWTH_RATES if k != trace.config.growth_rate],
                             key="channels_rates")
    presets = right.multiselect("Overlay presets", list(PRESETS), key="channels_presets")
    traces = [trace]
    with st.spinner("Tracing the other configs…"):
        traces += [trace_of(with_growth_rate(trace.config, k), state.device) for k in rates
                   if k != trace.config.growth_rate]
        traces += [trace_of(PRESETS[name], state.device) for name in presets]
    show_figure(channel_growth_chart(traces, theme=state.theme), key="channels_chart")
