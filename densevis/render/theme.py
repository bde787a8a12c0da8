"""One look for every diagram and chart: background, font, palette, link and metric colours.

Pure data and colour arithmetic (plotly only for type hints; no torch or streamlit here), so the
diagrams, the charts and the app all read the same values.
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densevis.errors import DenseVisError
from densevis.render.registry import (
    CATEGORICAL_PALETTES,
    GROWTH_RATE_SCALE_RANGE,
    GROWTH_RATE_SCALES,
    METRIC_SCALES,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

FONT_FAMILY = "DejaVu Sans"  # installed with graphviz on Debian; chromium finds it too


@dataclass(frozen=True)
class Theme:
    """Colours and font shared by diagrams (graphviz) and charts (plotly)."""

    name: str
    background: str  # page colour ("transparent" allowed for diagrams)
    backdrop: str  # the colour a figure is seen on: its background, or a transparent one's slide
    foreground: str  # text and outlines
    muted: str  # secondary text, axes and grid
    node_fill: str  # default box fill
    stage_fills: tuple[tuple[str, str], ...]  # stage kind -> fill (stem, block, transition, head)
    font_family: str
    font_size: int  # points, for node labels
    palette: tuple[str, ...]  # qualitative colours: blocks, configs, series
    edge_color: str  # plain data-flow edges
    edge_dim: str  # links faded out by a highlight
    highlight: str  # the highlighted layer's outline and links
    input_fill: str  # fill of a highlighted layer's inputs
    consumer_fill: str  # fill of a highlighted layer's consumers
    sequential: tuple[str, ...]  # low -> high metric colour stops
    growth_scale: tuple[str, ...]  # small k -> large k colour stops (lightness monotonic)
    link_lightness: float  # HLS lightness of the per-source link colours
    link_saturation: float  # 0 gives greys (print)
    marks: bool = False  # series also differ in dash, marker and bar pattern (print)

    @property
    def plot_background(self) -> str:
        """The colour plotly should paint (plotly understands rgba, not 'transparent')."""
        return "rgba(0,0,0,0)" if self.background == "transparent" else self.background

    def stage_fill(self, kind: str) -> str:
        """Fill colour of a stage box (stem, block, transition, head)."""
        return dict(self.stage_fills).get(kind, self.node_fill)

    def source_colors(self, count: int) -> list[str]:
        """`count` distinct link colours, one per source layer, neighbours far apart: the
        colours sit on an even grid of hues (greys for print) and up to three lightness
        levels, visited with a stride so that consecutive sources differ most."""
        levels = 1 if count <= 12 else 2 if count <= 28 else 3
        slots = max(1, math.ceil(count / levels))
        stride = _far_stride(slots)
        colors = []
        for index in range(count):
            hue_slot, level = (index * stride) % slots, index % levels
            lightness = self.link_lightness + (0.0, 0.14, -0.12)[level]
            if self.link_saturation == 0:  # print: greys from near-black to mid grey
                grey = 0.12 + 0.6 * ((index * _far_stride(count)) % count) / max(1, count - 1)
                colors.append(_hex((grey, grey, grey)))
            else:
                hue = (0.58 + hue_slot / slots) % 1.0
                colors.append(_hex(colorsys.hls_to_rgb(hue, lightness, self.link_saturation)))
        return colors

    def metric_color(self, fraction: float) -> str:
        """The sequential colour at `fraction` in [0, 1] (clamped)."""
        return interpolate(self.sequential, fraction)

    def text_on(self, fill: str) -> str:
        """Black or white text, whichever reads better on `fill`."""
        red, green, blue = _rgb(fill)
        luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
        return "#000000" if luminance > 0.5 else "#ffffff"


def _far_stride(count: int) -> int:
    """A step coprime with `count` near count/golden ratio: index*step mod count visits every
    slot once while consecutive indices land far apart."""
    if count <= 2:
        return 1
    step = max(1, round(count / 1.618033988749895))
    while math.gcd(step, count) != 1:
        step += 1
    return step


def categorical_colors(theme: Theme, count: int) -> list[str]:
    """`count` colours that never repeat: the theme's palette, or evenly spread hues when the
    palette is too short."""
    if count <= len(theme.palette):
        return list(theme.palette[:count])
    return theme.source_colors(count)


def growth_rate_color(theme: Theme, growth_rate: int) -> str:
    """The colour of growth rate k: its place on a log scale over GROWTH_RATE_SCALE_RANGE,
    read from the theme's growth-rate stops (the same k gets the same colour everywhere)."""
    low, high = GROWTH_RATE_SCALE_RANGE
    fraction = math.log(max(low, growth_rate) / low) / math.log(high / low)
    return interpolate(theme.growth_scale, fraction)


def lightness(color: str) -> float:
    """CIE L* (0 black .. 100 white) of a '#rrggbb' colour."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in _rgb(color)]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 116 * luminance ** (1 / 3) - 16 if luminance > 0.008856 else 903.3 * luminance


def _rgb(color: str) -> tuple[float, float, float]:
    value = color.lstrip("#")[:6]
    return tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def _hex(rgb: Sequence[float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def interpolate(stops: Sequence[str], fraction: float) -> str:
    """A colour between evenly spaced hex `stops`, at `fraction` in [0, 1]."""
    fraction = max(0.0, min(1.0, float(fraction)))
    if len(stops) == 1:
        return stops[0]
    scaled = fraction * (len(stops) - 1)
    low = min(int(scaled), len(stops) - 2)
    part = scaled - low
    a, b = _rgb(stops[low]), _rgb(stops[low + 1])
    return _hex([x + (y - x) * part for x, y in zip(a, b, strict=True)])


def with_alpha(color: str, alpha: float) -> str:
    """'#rrggbb' -> '#rrggbbaa' (graphviz understands the alpha byte)."""
    return f"{color[:7]}{round(max(0.0, min(1.0, alpha)) * 255):02x}"


_LIGHT = Theme(
    name="light",
    background="#ffffff",
    backdrop="#ffffff",
    foreground="#1f2328",
    muted="#6e7781",
    node_fill="#f6f8fa",
    stage_fills=(
        ("input", "#ffffff"),
        ("stem", "#e8eef7"),
        ("block", "#dcebdc"),
        ("transition", "#fbe8d3"),
        ("head", "#efe3f3"),
    ),
    font_family=FONT_FAMILY,
    font_size=11,
    palette=CATEGORICAL_PALETTES["light"],
    edge_color="#57606a",
    edge_dim="#d0d7de",
    highlight="#d62728",
    input_fill="#cfe3ff",
    consumer_fill="#ffe2b8",
    sequential=METRIC_SCALES["light"],
    growth_scale=GROWTH_RATE_SCALES["light"],
    link_lightness=0.45,
    link_saturation=0.75,
)

_DARK = Theme(
    name="dark",
    background="#171614",  # Streamlit 1.67 dark background: figures sit flush in the dark app
    backdrop="#171614",
    foreground="#e6edf3",
    muted="#8b949e",
    node_fill="#161b22",
    stage_fills=(
        ("input", "#171614"),
        ("stem", "#1c2a3f"),
        ("block", "#1b3324"),
        ("transition", "#3d2a14"),
        ("head", "#33203d"),
    ),
    font_family=FONT_FAMILY,
    font_size=11,
    palette=CATEGORICAL_PALETTES["dark"],
    edge_color="#8b949e",
    edge_dim="#30363d",
    highlight="#ff6b6b",
    input_fill="#1f4f8f",
    consumer_fill="#7a4a10",
    sequential=METRIC_SCALES["dark"],
    growth_scale=GROWTH_RATE_SCALES["dark"],
    link_lightness=0.62,
    link_saturation=0.8,
)

_PRINT = Theme(
    name="print",
    background="#ffffff",
    backdrop="#ffffff",
    foreground="#000000",
    muted="#555555",
    node_fill="#ffffff",
    stage_fills=(
        ("input", "#ffffff"),
        ("stem", "#eeeeee"),
        ("block", "#dddddd"),
        ("transition", "#f5f5f5"),
        ("head", "#e6e6e6"),
    ),
    font_family=FONT_FAMILY,
    font_size=11,
    palette=CATEGORICAL_PALETTES["print"],
    edge_color="#333333",
    edge_dim="#dddddd",
    highlight="#000000",
    input_fill="#d9d9d9",
    consumer_fill="#bdbdbd",
    sequential=METRIC_SCALES["print"],
    growth_scale=GROWTH_RATE_SCALES["print"],
    link_lightness=0.4,
    link_saturation=0.0,
    marks=True,
)

# A transparent figure takes its text colours from the slide it will sit on.
THEMES: dict[str, Theme] = {
    "light": _LIGHT,
    "dark": _DARK,
    "transparent": Theme(**{**_LIGHT.__dict__, "name": "transparent",
                            "background": "transparent"}),
    "transparent-dark": Theme(**{**_DARK.__dict__, "name": "transparent-dark",
                                 "background": "transparent"}),
    "print": _PRINT,
}


def get_theme(name: str | Theme) -> Theme:
    """A theme by name (a Theme passes through); DenseVisError for an unknown name."""
    if isinstance(name, Theme):
        return name
    try:
        return THEMES[str(name).strip().lower()]
    except KeyError:
        raise DenseVisError(
            f"unknown theme {name!r}; use one of {', '.join(THEMES)}"
        ) from None


def style_figure(fig: go.Figure, theme: Theme, title: str, x_title: str | None = None,
                 y_title: str | None = None) -> go.Figure:
    """The shared look of every chart: font, colours, background, title and axis titles
    (axis titles left as they are when None)."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        font={"family": f"{theme.font_family}, Arial, sans-serif", "size": 14,
              "color": theme.foreground},
        paper_bgcolor=theme.plot_background,
        plot_bgcolor=theme.plot_background,
        colorway=list(theme.palette),
        hoverlabel={"font": {"family": theme.font_family}},
        legend={"bgcolor": "rgba(0,0,0,0)"},
        margin={"l": 80, "r": 30, "t": 90 if "<br>" in title else 70, "b": 70},
        template="none",
    )
    grid = {"gridcolor": theme.edge_dim, "linecolor": theme.muted, "zerolinecolor": theme.muted,
            "color": theme.foreground}
    fig.update_xaxes(**grid, **({} if x_title is None else {"title_text": x_title}))
    fig.update_yaxes(**grid, **({} if y_title is None else {"title_text": y_title}))
    return fig
