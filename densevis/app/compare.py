"""Compare: 2-4 configs side by side, overlaid charts, and a growth-rate sweep."""

from __future__ import annotations

import streamlit as st

from densevis.app.state import current, latency_for, require_trace, trace_of, with_growth_rate
from densevis.app.widgets import NUMBER_COLUMNS, show_figure
from densevis.config import PRESETS, DenseNetConfig
from densevis.errors import DenseVisError
from densevis.render.charts import channel_growth_chart, growth_rate_chart
from densevis.render.registry import GROWTH_RATE_LIMITS, GROWTH_RATES, SWEEP_RATES
from densevis.render.tables import comparison_table
from densevis.spec import parse_config_spec


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    state = current()
    st.title("Compare")
    blocks = "-".join(str(n) for n in trace.config.block_config)
    st.caption(f"Growth rates on the current block config ({blocks}), presets, and configs "
               "of your own; 2 to 4 in all.")
    left, right = st.columns(2)
    rates = left.multiselect("Growth rates", (*SWEEP_RATES, GROWTH_RATE_LIMITS[1]),
                             default=list(GROWTH_RATES),
                             key="compare_rates")
    presets = right.multiselect("Presets", list(PRESETS), key="compare_presets")
    custom = st.text_area("More configs, one per line (a preset and/or fields)",
                          key="compare_custom", height=80,
                          placeholder="k=24 blocks=6,12,32,32 theta=0.5\ndensenet-bc-100 k=24")
    configs: list[DenseNetConfig] = [with_growth_rate(trace.config, k) for k in rates]
    configs += [PRESETS[name] for name in presets]
    for number, line in enumerate(custom.splitlines(), start=1):
        if line.strip():
            try:
                configs.append(parse_config_spec(line, base=trace.config))
            except DenseVisError as problem:
                st.error(f"line {number}: {problem}")
                return
    if not 2 <= len(configs) <= 4:
        st.error(f"Pick 2 to 4 configs to compare (now {len(configs)}).")
        return
    with st.spinner("Tracing the configs…"):
        traces = [trace_of(config, state.device) for config in configs]
    latencies = [latency_for(config) for config in configs]
    measured = None
    if any(latencies):
        measured = [sum(values.values()) if values else None for values in latencies]
    st.dataframe(comparison_table(traces, measured), hide_index=True, width="stretch",
                 column_config=NUMBER_COLUMNS)
    show_figure(growth_rate_chart(traces, theme=state.theme), key="compare_growth")
    show_figure(channel_growth_chart(traces, theme=state.theme), key="compare_channels")
    st.subheader("Growth-rate sweep")
    with st.spinner("Tracing the sweep…"):
        sweep = [trace_of(with_growth_rate(trace.config, k), state.device) for k in SWEEP_RATES]
    show_figure(growth_rate_chart(sweep, theme=state.theme), key="compare_sweep")
