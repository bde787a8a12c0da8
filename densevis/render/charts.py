"""Trace records -> plotly figures: channel growth, channel composition, connectivity matrix,
cost per layer, cost breakdown, growth-rate comparison. Never imports torch or streamlit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from densevis.config import DenseNetConfig
from densevis.errors import DenseVisError
from densevis.records import DenseLayerSummary, Trace
from densevis.render.configs import (
    SeriesStyle,
    config_names,
    config_styles,
    differ_only_in_k,
    shared_description,
)
from densevis.render.registry import (
    BAR_PATTERNS,
    CHARTS,
    CONNECTIVITY_VALUES,
    COST_METRICS,
    GROWTH_RATES,
)
from densevis.render.theme import Theme, categorical_colors, get_theme, style_figure

_METRIC_AXIS = {
    "params": ("parameters", "parameters (count)", ",.0f"),
    "macs": ("MACs", "MACs (multiply-accumulates, conv + linear)", ",.0f"),
    "activation": ("activation memory", "activation memory (bytes, float32)", ",.0f"),
    "latency": ("latency", "latency (ms)", ".3f"),
}


def _check_block(trace: Trace, block: int) -> None:
    count = len(trace.blocks)
    if not count:
        raise DenseVisError(f"no dense blocks found in {trace.model}: this chart needs one")
    if not isinstance(block, int) or not 1 <= block <= count:
        raise DenseVisError(f"block {block} is out of range: this model has blocks 1 to {count}")


def _line_style(style: SeriesStyle) -> dict[str, object]:
    """Plotly line and marker settings of one config's series."""
    return {"line": {"color": style.color, "dash": style.dash, "width": 2},
            "marker": {"color": style.color, "symbol": style.symbol, "size": 6}}


def _bar_marker(styles: Sequence[SeriesStyle], look: Theme) -> dict[str, object]:
    """Plotly bar marker for bars in these styles (one style: one colour for the series):
    colours, and in the print theme patterns."""
    pick = (lambda values: values[0]) if len(styles) == 1 else list
    marker: dict[str, object] = {"color": pick([s.color for s in styles])}
    if look.marks:
        marker["pattern"] = {"shape": pick([s.pattern for s in styles]), **_HATCH}
    return marker


_HATCH = {"fgcolor": "#ffffff", "fillmode": "overlay", "solidity": 0.25}  # print: white hatching


def _with_shared(title: str, configs: Sequence[DenseNetConfig]) -> str:
    """The title, with what the configs share on a smaller second line."""
    shared = shared_description(configs)
    return f"{title}<br><sup>all configs: {shared}</sup>" if shared else title


# --------------------------------------------------------------------------- 5. channel growth


def _series(traces: Sequence[Trace], look: Theme) -> tuple[list[str], list[SeriesStyle]]:
    """Legend names and styles of the compared traces; a custom module (no config) is named
    by its class."""
    configs = [trace.config for trace in traces]
    if all(config is not None for config in configs):
        return config_names(configs), config_styles(configs, look)  # type: ignore[arg-type]
    return ([trace.model for trace in traces],
            [SeriesStyle(color, "solid", "circle", "")
             for color in categorical_colors(look, len(traces))])


def channel_growth_chart(traces: Sequence[Trace], theme: str = "light") -> go.Figure:
    """Input channels k0 + k(l-1) of every dense layer across the network, one line per config:
    the sawtooth that climbs by k per layer and halves at each transition."""
    look = get_theme(theme)
    if traces and not traces[0].blocks:
        raise DenseVisError(f"no dense blocks found in {traces[0].model}: channel growth needs "
                            "one")
    configs = [trace.config for trace in traces if trace.config is not None]
    names, styles = _series(traces, look)
    by_k = len(configs) == len(traces) > 1 and differ_only_in_k(configs)
    fig = go.Figure()
    for index, (trace, name, style) in enumerate(zip(traces, names, styles, strict=True)):
        rows = trace.dense_layers()
        fig.add_trace(go.Scatter(
            x=list(range(1, len(rows) + 1)),
            y=[row.in_channels for row in rows], mode="lines+markers", name=name,
            legendrank=trace.config.growth_rate if by_k else 1000 + index,  # type: ignore[union-attr]
            **_line_style(style),
            customdata=[[row.block, row.position, row.out_channels] for row in rows],
            hovertemplate="%{fullData.name}<br>block %{customdata[0]}, layer H%{customdata[1]}"
                          "<br>input channels %{y:,}<br>adds %{customdata[2]}<extra></extra>",
        ))
    fig.update_traces(marker_size=6 if look.marks else 4)
    same_blocks = len({tuple(b.dense_layers for b in trace.blocks) for trace in traces}) == 1
    if traces and same_blocks:  # dotted lines at the transitions all configs share
        edge = 0
        for block in traces[0].blocks[:-1]:
            edge += block.dense_layers
            fig.add_vline(x=edge + 0.5, line={"dash": "dot", "color": look.muted, "width": 1})
    fig.update_yaxes(rangemode="tozero")
    x_title = ("dense layer (network order; dotted: transitions)" if same_blocks
               else "dense layer (network order)")
    return style_figure(fig, look, _with_shared("Channel growth: input channels of every dense "
                                                "layer", configs), x_title, "input channels")


# --------------------------------------------------------------------------- 6. composition


def channel_composition_chart(trace: Trace, block: int, theme: str = "light") -> go.Figure:
    """For each layer of a block, its input channels stacked by the layer that produced them
    (from the concat ops' sources)."""
    _check_block(trace, block)
    look = get_theme(theme)
    info = trace.block(block)
    channels = trace.source_channels(block)
    targets = list(range(1, info.dense_layers + 1)) + [None]  # None: the block output
    x_labels = [f"H{t}" if t is not None else "output" for t in targets]
    colors = look.source_colors(info.dense_layers + 1)
    fig = go.Figure()
    for source in range(info.dense_layers + 1):
        values = [channels[source] if source in trace.joined_sources(block, t) else 0
                  for t in targets]
        name = "block input x0" if source == 0 else f"H{source}"
        marker = {"color": colors[source]}
        if look.marks:
            marker["pattern"] = {"shape": BAR_PATTERNS[source % len(BAR_PATTERNS)], **_HATCH}
        fig.add_trace(go.Bar(
            x=x_labels, y=values, name=name, marker=marker,
            hovertemplate=f"{name} → %{{x}}: %{{y:,}} channels<extra></extra>",
        ))
    fig.update_layout(barmode="stack", bargap=0.15)
    return style_figure(fig, look, f"Channel composition of dense block {block} "
                              f"(k0 = {info.k0}, k = {info.growth_rate})",
                   "layer reading the channels", "input channels (by producing layer)")


# --------------------------------------------------------------------------- 7. connectivity


def connectivity_chart(trace: Trace, block: int, value: str = "present",
                       theme: str = "light") -> go.Figure:
    """The (L+1)×(L+1) matrix of links source → target of one block (targets H1..HL and the
    block output), cell = 1 for a link, or the channels it carries."""
    _check_block(trace, block)
    if value not in CONNECTIVITY_VALUES:
        raise DenseVisError(f"unknown cell value {value!r}; use {' or '.join(CONNECTIVITY_VALUES)}")
    look = get_theme(theme)
    info = trace.block(block)
    size = info.dense_layers + 1
    channels = trace.source_channels(block)
    matrix: list[list[float | None]] = [[None] * size for _ in range(size)]
    links = [*trace.block_links(block), *(x for x in trace.output_links if x.block == block)]
    for link in links:
        matrix[link.source][link.target - 1] = 1 if value == "present" else channels[link.source]
    sources = ["x0"] + [f"H{i}" for i in range(1, size)]
    targets = [f"H{i}" for i in range(1, size)] + ["output"]
    title_value = "link present" if value == "present" else "channels carried"
    fig = go.Figure(go.Heatmap(
        z=matrix, x=targets, y=sources,
        colorscale=[[0, look.sequential[1]], [1, look.sequential[-1]]] if value == "channels"
        else [[0, look.sequential[-2]], [1, look.sequential[-2]]],
        showscale=value == "channels",
        colorbar={"title": {"text": "channels"}},
        xgap=1, ygap=1,
        hovertemplate="%{y} → %{x}: " + ("link" if value == "present" else "%{z:,} channels")
                      + "<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="bottom")
    return style_figure(fig, look, f"Connectivity of dense block {block}: {info.links} links + "
                              f"{info.output_links} into the output ({title_value})",
                   "target (reads)", "source (produces)")


# --------------------------------------------------------------------------- 8. cost


def _dense_metric(trace: Trace, row: DenseLayerSummary, metric: str,
                  latency_ms: Mapping[str, float] | None) -> float | None:
    if metric == "latency":
        if not latency_ms:
            return None
        if row.name in latency_ms:
            return latency_ms[row.name]
        prefix = row.name + "."
        values = [ms for name, ms in latency_ms.items() if name.startswith(prefix)]
        return sum(values) if values else None
    return float({"params": row.params, "macs": row.macs,
                  "activation": row.activation_bytes}[metric])


def cost_chart(trace: Trace, metric: str = "macs", theme: str = "light",
               latency_ms: Mapping[str, float] | None = None) -> go.Figure:
    """Params, MACs, activation memory or latency of every dense layer, coloured by block."""
    if metric not in COST_METRICS:
        raise DenseVisError(f"unknown cost metric {metric!r}; use one of "
                            f"{', '.join(COST_METRICS)}")
    if metric == "latency" and not latency_ms:
        raise DenseVisError("the latency chart needs measured latencies (profile first)")
    if not trace.blocks:
        raise DenseVisError(f"no dense blocks found in {trace.model}: cost per dense layer "
                            "needs one (the breakdown chart shows the stages)")
    look = get_theme(theme)
    name, axis, number = _METRIC_AXIS[metric]
    fig = go.Figure()
    index = 0
    colors = categorical_colors(look, len(trace.blocks))
    for block in trace.blocks:
        rows = trace.dense_layers(block.index)
        xs = list(range(index + 1, index + len(rows) + 1))
        index += len(rows)
        fig.add_trace(go.Bar(
            x=xs, y=[_dense_metric(trace, row, metric, latency_ms) for row in rows],
            name=f"block {block.index}",
            marker={"color": colors[block.index - 1],
                    "pattern": {"shape": BAR_PATTERNS[(block.index - 1) % len(BAR_PATTERNS)]
                                if look.marks else "", **_HATCH}},
            customdata=[[row.name.removeprefix("features."), row.in_channels] for row in rows],
            hovertemplate="%{customdata[0]}<br>input channels %{customdata[1]}<br>"
                          f"{name}: %{{y:{number}}}<extra></extra>",
        ))
    fig.update_layout(bargap=0.1)
    return style_figure(fig, look, f"{name[0].upper() + name[1:]} per dense layer",
                   "dense layer (network order)", axis)


def cost_breakdown_chart(trace: Trace, theme: str = "light") -> go.Figure:
    """Parameters and MACs by stage and dense layer, as two sunbursts side by side."""
    from plotly.subplots import make_subplots

    look = get_theme(theme)
    ids, labels, parents = [trace.model], [trace.model], [""]
    params, macs = [float(trace.totals.params)], [float(trace.totals.macs)]
    colors = [look.node_fill]
    stage_colors = {"stem": look.palette[0], "block": look.palette[2],
                    "transition": look.palette[1], "head": look.palette[4 % len(look.palette)]}
    for stage in trace.stages():
        ids.append(stage.name)
        labels.append(stage.title)
        parents.append(trace.model)
        params.append(float(stage.params))
        macs.append(float(stage.macs))
        colors.append(stage_colors.get(stage.kind, look.palette[-1]))
        if stage.kind == "block":
            block = int(stage.name.removeprefix("block"))
            for row in trace.dense_layers(block):
                ids.append(row.name)
                labels.append(f"H{row.position}")
                parents.append(stage.name)
                params.append(float(row.params))
                macs.append(float(row.macs))
                colors.append(stage_colors["block"])
            # the block-output concat has no weights; it keeps the sum exact
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "domain"}, {"type": "domain"}]],
                        subplot_titles=("parameters", "MACs"))
    for column, values, unit in ((1, params, "parameters"), (2, macs, "MACs")):
        fig.add_trace(go.Sunburst(
            ids=ids, labels=labels, parents=parents, values=values, branchvalues="total",
            marker={"colors": colors, "line": {"color": look.plot_background, "width": 1}},
            hovertemplate=f"%{{label}}: %{{value:,.0f}} {unit}"
                          "<br>%{percentRoot:.1%} of the network<extra></extra>",
            name=unit,
        ), row=1, col=column)
    return style_figure(fig, look, "Where the parameters and MACs are: stages and dense layers",
                   "", "")


# --------------------------------------------------------------------------- 9. growth rate


_MEASURES = (  # (panel title, unit, value of a trace)
    ("parameters", "count", lambda t: t.totals.params),
    ("MACs", "multiply-accumulates", lambda t: t.totals.macs),
    ("activation memory", "bytes", lambda t: t.totals.activation_bytes),
    ("final channels", "channels", lambda t: t.blocks[-1].out_channels),
)
_PLACES = ((1, 1), (1, 2), (1, 3), (2, 1))


def _panels() -> go.Figure:
    from plotly.subplots import make_subplots

    return make_subplots(rows=2, cols=3, subplot_titles=[m[0] for m in _MEASURES] + [
        "channels out of each block"], specs=[[{}, {}, {}], [{}, {"colspan": 2}, None]],
        vertical_spacing=0.22, horizontal_spacing=0.09)


def growth_rate_chart(traces: Sequence[Trace], theme: str = "light") -> go.Figure:
    """Params, MACs, activation memory and final channels of each config, plus each block's
    output width. Against k when the configs differ only in k; otherwise one bar per config,
    named by its preset or spec (never a line joining unrelated configs)."""
    if not traces:
        raise DenseVisError("the growth-rate chart needs at least one traced config")
    look = get_theme(theme)
    configs = [t.config for t in traces]
    by_k = len(traces) > 1 and differ_only_in_k(configs)
    ordered = sorted(traces, key=lambda t: t.config.growth_rate) if by_k else list(traces)
    configs = [t.config for t in ordered]
    names, styles = config_names(configs), config_styles(configs, look)
    fig = _panels()
    for (title, unit, value), (row, col) in zip(_MEASURES, _PLACES, strict=True):
        values = [value(t) for t in ordered]
        if by_k:
            fig.add_trace(go.Scatter(
                x=[c.growth_rate for c in configs], y=values, mode="lines+markers",
                name=title, showlegend=False, line={"color": look.muted, "width": 1.5},
                marker={"color": [s.color for s in styles], "size": 10,
                        "symbol": [s.symbol for s in styles],
                        "line": {"color": look.foreground, "width": 0.5}},
                hovertemplate=f"k = %{{x}}<br>{title}: %{{y:,}} {unit}<extra></extra>",
            ), row=row, col=col)
            continue
        fig.add_trace(go.Bar(  # one bar per config; the legend names the colours
            x=names, y=values, name=title,
            showlegend=False, marker=_bar_marker(styles, look), customdata=names,
            hovertemplate=f"%{{customdata}}<br>{title}: %{{y:,}} {unit}<extra></extra>",
        ), row=row, col=col)
    for trace, name, style in zip(ordered, names, styles, strict=True):
        fig.add_trace(go.Bar(
            x=[f"block {b.index}" for b in trace.blocks], y=[b.out_channels for b in trace.blocks],
            name=name, marker=_bar_marker([style], look),
            hovertemplate=f"{name}, %{{x}}: %{{y:,}} channels<extra></extra>",
        ), row=2, col=2)
    title = "Growth rate k: cost and width" if by_k else "Configs compared: cost and width"
    style_figure(fig, look, _with_shared(title, configs), "", "")
    for (_, unit, _), (row, col) in zip(_MEASURES, _PLACES, strict=True):
        fig.update_xaxes(title_text="growth rate k" if by_k else "config (see legend)",
                         showticklabels=by_k, row=row, col=col)
        fig.update_yaxes(title_text=unit, row=row, col=col)
    fig.update_xaxes(title_text="dense block", row=2, col=2)
    fig.update_yaxes(title_text="channels", row=2, col=2)
    fig.update_yaxes(rangemode="tozero")
    two_lines = "<br>" in fig.layout.title.text  # room for the shared line above the panels
    fig.update_layout(barmode="group", height=620, margin_t=110 if two_lines else 70)
    return fig


# --------------------------------------------------------------------------- dispatch


def chart(trace: Trace, name: str, block: int = 1, theme: str = "light",
          extra_traces: Sequence[Trace] | None = None) -> go.Figure:
    """The named chart. `extra_traces` are other configs to compare (channels, growth); the
    growth chart needs them (the CLI traces k = 12, 24, 32, 48 variants)."""
    if name not in CHARTS:
        raise DenseVisError(f"unknown chart {name!r}; use one of {', '.join(CHARTS)}")
    others = list(extra_traces or [])
    if name == "channels":
        return channel_growth_chart([trace, *others], theme)
    if name == "composition":
        return channel_composition_chart(trace, block, theme)
    if name == "connectivity":
        return connectivity_chart(trace, block, "channels", theme)
    if name == "cost":
        return cost_chart(trace, "macs", theme)
    if trace.is_custom:
        raise DenseVisError("the growth-rate comparison needs a DenseNet config (it rebuilds "
                            "the network at other k); a custom module has none")
    known = {t.config.growth_rate for t in others}
    variants = others + ([trace] if trace.config.growth_rate not in known else [])
    if len(variants) < 2:
        raise DenseVisError("the growth chart compares configs: pass traces for other k values "
                            f"(e.g. k = {', '.join(map(str, GROWTH_RATES))})")
    return growth_rate_chart(variants, theme)
