"""Latency: per-layer times measured on the chosen device, throughput, and the roofline."""

from __future__ import annotations

from typing import Any

import streamlit as st

from densevis.app import budget
from densevis.app.state import KEEP, current
from densevis.app.text import plain
from densevis.app.traces import Source, require_trace, source_of, store_profile
from densevis.app.widgets import show_figure
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render.perf_charts import latency_chart, roofline_chart, throughput_chart


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    state = current()
    st.title("Latency")
    st.caption(f"Measured on {state.device} with forward hooks (medians and inter-quartile "
               "range over the repeats); the end-to-end time is measured separately without "
               "hooks.")
    columns = st.columns(3)
    batch = columns[0].number_input("Batch size", 1, 512, 1,
                                    key="latency_batch", persist_state=KEEP)
    warmup = columns[1].number_input("Warm-up passes", 0, 50, 3,
                                     key="latency_warmup", persist_state=KEEP)
    repeats = columns[2].number_input("Repeats", 1, 200, 10,
                                      key="latency_repeats", persist_state=KEEP)
    if st.button("Measure latency", type="primary", key="latency_measure"):
        _measure(trace, state.device, int(batch), int(warmup), int(repeats))
    profile = st.session_state.get("last_profile")
    if profile is not None and profile.model == trace.model:
        cols = st.columns(4)
        cols[0].metric("End-to-end (no hooks)", f"{profile.plain_total_ms:.1f} ms")
        cols[1].metric("With hooks", f"{profile.hooked_total_ms:.1f} ms",
                       f"{profile.overhead:+.1%} overhead", delta_color="off")
        cols[2].metric("Unattributed", f"{profile.unattributed_ms:.2f} ms")
        cols[3].metric("Threads", profile.threads)
        verdict = st.success if profile.verdict == "stable" else st.warning
        verdict(f"Timings {profile.verdict_text}.")
        show_figure(latency_chart(profile, theme=state.theme), key="latency_chart")
        roofline = st.session_state.get("last_roofline")
        if roofline is not None:
            show_figure(roofline_chart(*roofline, theme=state.theme), key="latency_roofline")
    st.subheader("Throughput")
    if st.button("Measure throughput", key="latency_throughput"):
        bar = st.progress(0.0, text="Measuring throughput…")
        try:
            from densevis.profiler import measure_throughput

            share = budget.BUDGET // 4  # the sweep stops at batches that would pass it
            with budget.reserve(share, "the throughput sweep"):
                points = measure_throughput(
                    _target(source_of(trace), state.device)[0], device=state.device,
                    max_memory=share, progress=lambda done, total: bar.progress(
                        done / total, text=f"batch {done}/{total}"))
            st.session_state["last_throughput"] = points
        except DenseVisError as problem:
            st.error(plain(problem))
        bar.empty()
    points = st.session_state.get("last_throughput")
    if points:
        show_figure(throughput_chart(points, theme=state.theme), key="latency_tp")


def _measure(trace: Trace, device: str, batch: int, warmup: int, repeats: int) -> None:
    from densevis.profiler import measure_peak, profile_latency, roofline

    bar = st.progress(0.0, text="Building the model and warming up…")
    try:
        source = source_of(trace)
        with budget.reserve(budget.bytes_for(source, batch), f"profiling {trace.model}"):
            target, size = _target(source, device)
            profile = profile_latency(
                target, device=device, batch_size=batch, warmup=warmup, repeats=repeats,
                input_size=size, progress=lambda done, total: bar.progress(
                    done / total, text=f"pass {done} of {total}"))
        bar.progress(1.0, text="Measuring the device's peak…")
        peak = measure_peak(device)
        st.session_state["last_profile"] = profile
        st.session_state["last_roofline"] = (roofline(trace, profile), peak)
        store_profile(source, profile)
    except DenseVisError as problem:
        st.error(plain(problem))
    finally:
        bar.empty()


def _target(source: Source, device: str) -> tuple[Any, Any]:
    """What the profiler times and at what input size: a config as is, or the custom module
    loaded on the device with its spec's size."""
    from densevis.usermodule import ModuleSpec, load_module, parse_module_input_size

    if not isinstance(source, ModuleSpec):
        return source, None
    return load_module(source, device), parse_module_input_size(source.input_size or None)


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
