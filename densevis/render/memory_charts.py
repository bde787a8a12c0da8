"""The concatenation-memory chart: naive vs memory-efficient, analytic and measured.

Reads only ``densevis.memory`` records (plotly only; never torch or streamlit); colours and
font come from ``densevis.render.theme``.
"""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from densevis.memory import MeasuredMemory, MemoryReport, NetworkMemory
from densevis.render.theme import Theme, get_theme, style_figure

_MIB = 1024**2


def _report(memory: MemoryReport | NetworkMemory, measured: MeasuredMemory | None
            ) -> MemoryReport:
    if isinstance(memory, NetworkMemory):
        return MemoryReport(memory, measured)
    return memory if measured is None else MemoryReport(memory.analytic, measured)


def memory_chart(memory: MemoryReport | NetworkMemory, theme: str | Theme = "light",
                 measured: MeasuredMemory | None = None) -> go.Figure:
    """Naive vs memory-efficient: left, the network's inference and training-step peaks,
    analytic (solid) and measured (hatched) side by side; right, each block's training
    activations (analytic). The recomputation's time cost goes in the title when measured."""
    look = get_theme(theme)
    report = _report(memory, measured)
    analytic, real = report.analytic, report.measured
    figure = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45],
                           subplot_titles=("Whole network (MiB)",
                                           "Per block, training step (analytic, MiB)"))
    quantities = ["inference", "training step"]
    colors = {"naive": look.palette[3], "memory-efficient": look.palette[2]}
    for mode, suffix in (("naive", "naive"), ("memory-efficient", "efficient")):
        values = [getattr(analytic, f"inference_{suffix}"),
                  getattr(analytic, f"training_{suffix}")]
        figure.add_trace(go.Bar(
            x=quantities, y=[v / _MIB for v in values], name=f"{mode}, analytic",
            marker={"color": colors[mode]}, offsetgroup=f"{mode} analytic",
            hovertemplate="%{x}: %{y:.1f} MiB<extra>" + f"{mode}, analytic</extra>",
        ), row=1, col=1)
        if real is not None:
            training = real.training_naive_peak if suffix == "naive" else \
                real.training_efficient_peak
            figure.add_trace(go.Bar(
                x=quantities, y=[real.inference_peak / _MIB, training / _MIB],
                name=f"{mode}, measured", offsetgroup=f"{mode} measured",
                marker={"color": colors[mode], "pattern": {"shape": "/"}, "opacity": 0.75},
                hovertemplate="%{x}: %{y:.1f} MiB<extra>" + f"{mode}, measured ({real.device})"
                              "</extra>",
            ), row=1, col=1)
    labels = [f"block {b.block} (L={b.layers})" for b in analytic.blocks]
    for mode, key in (("naive", "training_naive"), ("memory-efficient", "training_efficient")):
        figure.add_trace(go.Bar(
            x=labels, y=[getattr(b, key) / _MIB for b in analytic.blocks],
            name=f"{mode}, per block", marker={"color": colors[mode]}, showlegend=False,
            hovertemplate="%{x}: %{y:.1f} MiB<extra>" + mode + "</extra>",
        ), row=1, col=2)
    figure.update_layout(barmode="group")
    figure.update_yaxes(title="MiB", rangemode="tozero", row=1, col=1)
    title = (f"Concatenation memory, {analytic.model}, batch {analytic.batch_size}, "
             f"{analytic.input_size[0]}x{analytic.input_size[1]}")
    if real is not None:
        title += (f" — recomputation costs {real.recompute_overhead:+.0%} time per training "
                  f"step ({real.training_naive_seconds * 1000:.0f} → "
                  f"{real.training_efficient_seconds * 1000:.0f} ms on {real.device})")
    figure = style_figure(figure, look, title)
    figure.update_yaxes(showgrid=True, gridcolor=look.edge_dim)
    return figure
