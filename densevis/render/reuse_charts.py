"""Feature-reuse heat maps (the DenseNet paper's Figure 5) and the concat-memory chart.

Reads only ``densevis.reuse`` and ``densevis.memory`` records (plotly only; never torch or
streamlit); colours and font come from ``densevis.render.theme``.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from densevis.memory import MeasuredMemory, MemoryReport, NetworkMemory
from densevis.render.theme import Theme, get_theme, style_figure
from densevis.reuse import BlockReuse, FeatureReuse

_MIB = 1024**2


def _colorscale(theme: Theme) -> list[list[float | str]]:
    stops = theme.sequential
    return [[index / (len(stops) - 1), color] for index, color in enumerate(stops)]


def _normalised(block: BlockReuse, normalize: str) -> list[list[float | None]]:
    """Values as shown: raw, or each column divided by its largest value (the paper's look)."""
    rows = [list(row) for row in block.values]
    if normalize == "none":
        return rows
    if normalize != "column":
        raise ValueError(f"normalize must be 'none' or 'column', got {normalize!r}")
    for column in range(block.layers + 1):
        top = max((row[column] for row in rows if row[column] is not None), default=0.0)
        for row in rows:
            if row[column] is not None and top:
                row[column] = row[column] / top
    return rows


def _heatmap(block: BlockReuse, theme: Theme, normalize: str, showscale: bool = True
             ) -> go.Heatmap:
    shown = _normalised(block, normalize)
    raw = [[math.nan if v is None else v for v in row] for row in block.values]
    return go.Heatmap(
        z=[[math.nan if v is None else v for v in row] for row in shown],
        x=block.column_labels,
        y=block.row_labels,
        customdata=raw,
        colorscale=_colorscale(theme),
        zmin=0,
        showscale=showscale,
        colorbar={"title": {"text": "mean |W|" if normalize == "none" else "÷ column max"}},
        hovertemplate="source %{y} → target %{x}<br>mean |W| = %{customdata:.4g}"
                      + ("" if normalize == "none" else "<br>%{z:.2f} of the column's max")
                      + "<extra></extra>",
        hoverongaps=False,
        xgap=1,
        ygap=1,
    )


def reuse_heatmap_chart(reuse: FeatureReuse, block: int = 1, theme: str | Theme = "light",
                        normalize: str = "none") -> go.Figure:
    """One block's heat map: x = target layer (then the transition/classifier), y = source
    (input at the top), colour = mean absolute weight; hover shows the value.

    ``normalize="column"`` divides each column by its largest value, so every layer's
    preferences show on the same scale (raw values fall as a layer's fan-in grows).
    """
    look = get_theme(theme)
    data = reuse.block(block)
    figure = go.Figure(_heatmap(data, look, normalize))
    figure.update_xaxes(title=f"target layer (last column: {data.final})", type="category",
                        side="bottom")
    figure.update_yaxes(title="source layer (input = block input)", type="category",
                        autorange="reversed")
    weights = "random weights — shows nothing" if reuse.random_weights else reuse.weights
    return style_figure(figure, look,
                  f"Feature reuse, {reuse.model} dense block {block} ({weights})")


def reuse_heatmaps_chart(reuse: FeatureReuse, theme: str | Theme = "light",
                         normalize: str = "column") -> go.Figure:
    """All blocks side by side, as in the paper's Figure 5 (columns normalised by default)."""
    look = get_theme(theme)
    count = len(reuse.blocks)
    figure = make_subplots(rows=1, cols=count,
                           subplot_titles=[f"Dense block {b.block}" for b in reuse.blocks],
                           horizontal_spacing=0.04)
    for index, data in enumerate(reuse.blocks, start=1):
        trace = _heatmap(data, look, normalize, showscale=index == count)
        if normalize == "column":
            trace.update(zmax=1)
        figure.add_trace(trace, row=1, col=index)
        figure.update_xaxes(type="category", title="target", row=1, col=index)
        figure.update_yaxes(type="category", autorange="reversed", row=1, col=index,
                            title="source" if index == 1 else None)
    weights = "random weights — shows nothing" if reuse.random_weights else reuse.weights
    return style_figure(figure, look, f"Feature reuse, {reuse.model} ({weights})")


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
