"""Overview: headline numbers, the paper's Table 1 from the trace, the overview diagram, and
the design card's facts checked against the current config."""

from __future__ import annotations

import streamlit as st

from densevis.app.state import KEEP, current
from densevis.app.traces import require_trace, source_of
from densevis.app.widgets import render_diagram
from densevis.facts import check_facts
from densevis.render.registry import DIRECTIONS
from densevis.render.tables import display_markdown, stage_rows
from densevis.units import format_bytes, format_count, format_si

_MARKS = {True: ":green[:material/check_circle:]", False: ":orange[:material/error:]"}


def render() -> None:
    trace = require_trace()
    if trace is None:
        return
    state = current()
    config = trace.config
    st.title(f"{trace.model}")
    st.caption(
        f"growth rate k = {config.growth_rate} · blocks {config.block_config} · "
        f"{config.num_init_features} initial features · bn_size {config.bn_size} · "
        f"θ = {config.compression:g} · input {config.in_channels}×{config.input_size[0]}×"
        f"{config.input_size[1]} · {config.num_classes} classes · traced on {trace.device}"
        if config is not None else
        f"custom module · input {'×'.join(map(str, trace.image_shape))} · dense blocks found "
        f"from the data flow: {', '.join(f'L = {b.dense_layers}' for b in trace.blocks) or 'none'}"
        f" · {len(trace.edges)} skip/residual joins · traced on {trace.device}"
    )
    totals = trace.totals
    columns = st.columns(5)
    columns[0].metric("Parameters", format_count(totals.params))
    columns[1].metric("MACs", format_si(totals.macs),
                      help="Multiply-accumulates of convolutions and the linear layer "
                           "(torchvision's published 'GFLOPS' convention).")
    columns[2].metric("FLOPs", format_si(totals.flops),
                      help="torch.utils.flop_counter convention: 2 FLOPs per MAC; "
                           "BN, ReLU and pooling not counted.")
    columns[3].metric("Activation memory", format_bytes(totals.activation_bytes),
                      help="Bytes of every new tensor in one forward pass at batch 1 "
                           "(float32; in-place ReLUs allocate nothing).")
    columns[4].metric("Depth", f"{totals.depth} layers",
                      help="Weighted layers: convolutions plus the classifier.")

    # Table 1 gets the page's width: a Markdown table does not shrink or scroll, and beside
    # the facts its MACs column ran into them
    st.subheader("Architecture (the paper's Table 1, from the trace)")
    st.markdown(display_markdown(stage_rows(trace)))
    st.subheader("Facts, checked")
    if config is None:
        st.caption("The paper's facts are checked on DenseNet configs; this is a custom module.")
    else:  # one element for all facts: each element is a message to the browser
        st.markdown("\n\n".join(
            f"{_MARKS[fact.holds]} **{fact.statement}**  \n"
            f"<small>measured: {fact.measured}</small>" for fact in check_facts(trace)),
            unsafe_allow_html=True)
    st.subheader("Overview diagram")
    direction = st.radio("Direction", DIRECTIONS, horizontal=True,
                         key="overview_direction", persist_state=KEEP,
                         format_func={"LR": "left → right", "TB": "top → bottom"}.get)
    svg = render_diagram(source_of(trace), state.device, "overview", direction=direction,
                         theme=state.theme)
    if svg is not None:  # a plain image here (it fits the page); pan and zoom on Diagram
        st.image(svg.decode("utf-8"), caption="Open the Diagram page to pan, zoom and "
                 "go down to every dense link.", width="content")


if __name__ == "__main__":  # Streamlit runs the page file as a script
    render()
