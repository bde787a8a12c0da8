"""Feature-reuse heat maps (the DenseNet paper's Figure 5).

Reads only ``densevis.reuse`` records (plotly only; never torch or
streamlit); colours and font come from ``densevis.render.theme``.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from densevis.render.theme import Theme, get_theme, style_figure
from densevis.reuse import BlockReuse, FeatureReuse


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
