"""One look for every diagram and chart: background, font, palette, link and metric colours.

Pure data and colour arithmetic (plotly only for type hints; no torch or streamlit here), so the
diagrams, the charts and the app all read the same values.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from densevis.errors import DenseVisError

if TYPE_CHECKING:
    import plotly.graph_objects as go

FONT_FAMILY = "DejaVu Sans"  # installed with graphviz on Debian; chromium finds it too


@dataclass(frozen=True)
class Theme:
    """Colours and font shared by diagrams (graphviz) and charts (plotly)."""

    name: str
    background: str  # page colour ("transparent" allowed for diagrams)
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
    link_lightness: float  # HLS lightness of the per-source link colours
    link_saturation: float  # 0 gives greys (print)

    @property
    def plot_background(self) -> str:
        """The colour plotly should paint (plotly understands rgba, not 'transparent')."""
        return "rgba(0,0,0,0)" if self.background == "transparent" else self.background

    def stage_fill(self, kind: str) -> str:
        """Fill colour of a stage box (stem, block, transition, head)."""
        return dict(self.stage_fills).get(kind, self.node_fill)

    def source_colors(self, count: int) -> list[str]:
        """`count` distinct link colours, one per source layer, neighbours far apart in hue."""
        golden = 0.618033988749895
        colors = []
        for index in range(count):
            hue = (0.58 + index * golden) % 1.0
            if self.link_saturation == 0:
                # print: cycle through four greys, dark to light, that all show on white
                lightness = (0.15, 0.35, 0.5, 0.62)[index % 4]
                colors.append(_hex(colorsys.hls_to_rgb(0, lightness, 0)))
            else:
                colors.append(
                    _hex(colorsys.hls_to_rgb(hue, self.link_lightness, self.link_saturation))
                )
        return colors

    def metric_color(self, fraction: float) -> str:
        """The sequential colour at `fraction` in [0, 1] (clamped)."""
        return interpolate(self.sequential, fraction)

    def text_on(self, fill: str) -> str:
        """Black or white text, whichever reads better on `fill`."""
        red, green, blue = _rgb(fill)
        luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
        return "#000000" if luminance > 0.5 else "#ffffff"


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


_LIGHT_PALETTE = (
    "#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
)
_DARK_PALETTE = (
    "#7aa6e8", "#f4a261", "#7fd48a", "#f07178", "#b39ddb", "#c9a87c", "#f2a7d8", "#bdbdbd",
)
_PRINT_PALETTE = ("#111111", "#555555", "#888888", "#333333", "#aaaaaa", "#666666")

_LIGHT = Theme(
    name="light",
    background="#ffffff",
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
    palette=_LIGHT_PALETTE,
    edge_color="#57606a",
    edge_dim="#d0d7de",
    highlight="#d62728",
    input_fill="#cfe3ff",
    consumer_fill="#ffe2b8",
    sequential=("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"),
    link_lightness=0.45,
    link_saturation=0.75,
)

THEMES: dict[str, Theme] = {
    "light": _LIGHT,
    "dark": Theme(
        name="dark",
        background="#0d1117",
        foreground="#e6edf3",
        muted="#8b949e",
        node_fill="#161b22",
        stage_fills=(
            ("input", "#0d1117"),
            ("stem", "#1c2a3f"),
            ("block", "#1b3324"),
            ("transition", "#3d2a14"),
            ("head", "#33203d"),
        ),
        font_family=FONT_FAMILY,
        font_size=11,
        palette=_DARK_PALETTE,
        edge_color="#8b949e",
        edge_dim="#30363d",
        highlight="#ff6b6b",
        input_fill="#1f4f8f",
        consumer_fill="#7a4a10",
        sequential=("#1b1f3a", "#30427a", "#2a8c8c", "#7ccf63", "#f5e663"),
        link_lightness=0.62,
        link_saturation=0.8,
    ),
    "transparent": Theme(**{**_LIGHT.__dict__, "name": "transparent",
                            "background": "transparent"}),
    "print": Theme(
        name="print",
        background="#ffffff",
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
        palette=_PRINT_PALETTE,
        edge_color="#333333",
        edge_dim="#dddddd",
        highlight="#000000",
        input_fill="#d9d9d9",
        consumer_fill="#bdbdbd",
        sequential=("#ffffff", "#d9d9d9", "#969696", "#525252", "#000000"),
        link_lightness=0.4,
        link_saturation=0.0,
    ),
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
        margin={"l": 80, "r": 30, "t": 70, "b": 70},
        template="none",
    )
    grid = {"gridcolor": theme.edge_dim, "linecolor": theme.muted, "zerolinecolor": theme.muted,
            "color": theme.foreground}
    fig.update_xaxes(**grid, **({} if x_title is None else {"title_text": x_title}))
    fig.update_yaxes(**grid, **({} if y_title is None else {"title_text": y_title}))
    return fig
