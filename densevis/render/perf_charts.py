"""Measured-time records -> plotly figures: throughput, roofline, per-layer latency.

Reads only ``densevis.timing`` records (never torch or streamlit); colours and font come from
``densevis.render.theme``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from densevis.render.theme import Theme, get_theme, style_figure
from densevis.timing import DevicePeak, Profile, RooflinePoint, ThroughputPoint


def throughput_chart(points: Sequence[ThroughputPoint], theme: str | Theme = "light"
                     ) -> go.Figure:
    """Images per second against batch size (log2 x axis), ms per batch on hover."""
    look = get_theme(theme)
    figure = go.Figure(go.Scatter(
        x=[p.batch_size for p in points],
        y=[p.images_per_s for p in points],
        mode="lines+markers",
        line={"color": look.palette[0]},
        customdata=[[p.ms_per_batch] for p in points],
        hovertemplate="batch %{x}<br>%{y:.1f} images/s<br>%{customdata[0]:.1f} ms/batch"
                      "<extra></extra>",
        name="throughput",
    ))
    figure.update_xaxes(title="batch size", type="log",
                        tickvals=[p.batch_size for p in points], ticktext=[
                            str(p.batch_size) for p in points])
    figure.update_yaxes(title="images / s", rangemode="tozero")
    return style_figure(figure, look, "Throughput against batch size")


def roofline_chart(points: Sequence[RooflinePoint], peak: DevicePeak,
                   theme: str | Theme = "light") -> go.Figure:
    """Achieved GFLOP/s against FLOP/byte per op (log-log), under the device's two roofs.

    Ops left of the ridge point are memory-bound (BN, ReLU, pools, concatenations), ops right
    of it compute-bound (most convolutions at larger batches).
    """
    look = get_theme(theme)
    figure = go.Figure()
    kinds = sorted({p.kind for p in points})
    for index, kind in enumerate(kinds):
        members = [p for p in points if p.kind == kind]
        figure.add_trace(go.Scatter(
            x=[p.intensity for p in members],
            y=[p.gflops_per_s for p in members],
            mode="markers",
            name=kind,
            marker={"color": look.palette[index % len(look.palette)], "size": 7,
                    "opacity": 0.8},
            text=[p.name.removeprefix("features.") for p in members],
            customdata=[[p.median_ms, peak.bound(p.intensity)] for p in members],
            hovertemplate="%{text}<br>%{x:.2f} FLOP/byte<br>%{y:.2f} GFLOP/s<br>"
                          "%{customdata[0]:.3f} ms, %{customdata[1]}-bound<extra></extra>",
        ))
    intensities = [p.intensity for p in points if p.intensity > 0] or [1.0]
    low = min(min(intensities), peak.ridge) / 2
    high = max(max(intensities), peak.ridge) * 2
    xs = [low, peak.ridge, high] if peak.ridge > 0 else [low, high]
    figure.add_trace(go.Scatter(
        x=xs, y=[peak.roof(x) for x in xs], mode="lines", name="roof",
        line={"color": look.foreground, "dash": "dash"},
        hovertemplate="roof: %{y:.1f} GFLOP/s at %{x:.2f} FLOP/byte<extra></extra>",
    ))
    figure.add_annotation(  # log axes place annotations at log10 coordinates
        x=math.log10(peak.ridge) if peak.ridge > 0 else 0, y=math.log10(peak.gflops_per_s),
        text=f"ridge {peak.ridge:.1f} FLOP/B", showarrow=False, yshift=12,
        font={"color": look.muted},
    )
    figure.update_xaxes(title="arithmetic intensity (FLOP / byte)", type="log")
    figure.update_yaxes(title="achieved GFLOP/s", type="log")
    title = (f"Roofline on {peak.device}: {peak.gflops_per_s:.0f} GFLOP/s peak, "
             f"{peak.bandwidth_gb_s:.0f} GB/s")
    return style_figure(figure, look, title)


def latency_chart(profile: Profile, theme: str | Theme = "light") -> go.Figure:
    """Per-op median latency in execution order on a log axis (op times span orders of
    magnitude), IQR error bars, coloured by dense block.

    Ops outside blocks (stem, transitions, head) share one colour; the unattributed rest is
    the last bar. A median at or below zero (the unattributed rest can be negative) cannot sit
    on a log axis: it is drawn at the axis floor, hatched, with its real value on hover.
    """
    look = get_theme(theme)
    rows = profile.rows()
    positive = [row["median_ms"] for row in rows if row["median_ms"] > 0]
    floor = min(positive, default=1e-3) / 2
    groups: dict[str, list[tuple[int, dict]]] = {}
    for index, row in enumerate(rows):
        if row["kind"] == "unattributed":
            group = "unattributed"
        elif row["block"] is None:
            group = "outside blocks"
        else:
            group = f"block {row['block']}"
        groups.setdefault(group, []).append((index, row))
    figure = go.Figure()
    colors = {"outside blocks": look.muted, "unattributed": look.highlight}
    block_index = 0
    for group, members in groups.items():
        if group not in colors:
            colors[group] = look.palette[block_index % len(look.palette)]
            block_index += 1
        clipped = [row["median_ms"] <= 0 for _, row in members]
        figure.add_trace(go.Bar(
            x=[index for index, _ in members],
            y=[max(row["median_ms"], floor) for _, row in members],
            name=group,
            marker={"color": colors[group],
                    "pattern": {"shape": ["x" if cut else "" for cut in clipped]}},
            error_y={
                "type": "data", "symmetric": False,
                "array": [0.0 if cut else max(0.0, row["q3_ms"] - row["median_ms"])
                          for (_, row), cut in zip(members, clipped, strict=True)],
                "arrayminus": [0.0 if cut else max(0.0, row["median_ms"] - row["q1_ms"])
                               for (_, row), cut in zip(members, clipped, strict=True)],
                "color": look.foreground, "thickness": 1, "width": 0,
            },
            text=[row["name"].removeprefix("features.") for _, row in members],
            customdata=[[row["kind"], row["q1_ms"], row["q3_ms"], row["median_ms"],
                         " (clipped: at or below 0, drawn at the floor)" if cut else ""]
                        for (_, row), cut in zip(members, clipped, strict=True)],
            hovertemplate="%{text} (%{customdata[0]})<br>median %{customdata[3]:.3f} ms"
                          "%{customdata[4]}<br>IQR %{customdata[1]:.3f} - %{customdata[2]:.3f} ms"
                          "<extra></extra>",
        ))
    figure.update_layout(bargap=0.1)
    figure.update_xaxes(title="op (execution order)")
    figure.update_yaxes(title="median latency (ms, log scale)", type="log")
    title = (f"Per-layer latency: {profile.model} on {profile.device}, batch "
             f"{profile.batch_size}, {profile.threads} threads, median of {profile.repeats} "
             f"— {profile.verdict}")
    return style_figure(figure, look, title)
