"""The one list of every choice densevis offers: views, directions, node fields, colour
metrics, charts, themes, growth rates and colour scales.

The CLI's ``choices=``, the app's widgets and the renderers all read these names; nothing
else re-types them. Pure data: no torch, streamlit, plotly or graphviz here.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- diagrams

VIEWS = ("overview", "block", "layer", "full")
VIEW_TITLES = {"overview": "Overview", "block": "Dense block", "layer": "Dense layer",
               "full": "Full network"}
DIRECTIONS = ("LR", "TB")  # LR: left to right; TB: top to bottom
DIRECTION_TITLES = {"LR": "left → right", "TB": "top → bottom"}
SHOW_FIELDS = ("shape", "params", "macs", "latency")  # what a node's label may list
DEFAULT_SHOW = ("shape", "params", "macs")
COLOR_METRICS = ("params", "macs", "latency", "activation")  # colour nodes by one of these

# --------------------------------------------------------------------------- charts

CHARTS = ("channels", "composition", "connectivity", "cost", "growth")
CHART_TITLES = {"channels": "Channel growth", "composition": "Channel composition",
                "connectivity": "Connectivity matrix", "cost": "Cost per layer",
                "growth": "Growth-rate comparison"}
COST_METRICS = ("params", "macs", "activation", "latency")  # per-dense-layer bars
CONNECTIVITY_VALUES = ("present", "channels")  # a connectivity cell: link or channels carried

# --------------------------------------------------------------------------- growth rates

GROWTH_RATE_LIMITS = (1, 128)  # the k any widget accepts
GROWTH_RATE_SCALE_RANGE = (4, 128)  # the ends of the k colour scale (log; k < 4 as k = 4)
GROWTH_RATES = (12, 24, 32, 48)  # the k values compared by default (charts, exports, overlays)
SWEEP_RATES = (4, 8, 12, 16, 24, 32, 40, 48, 64)  # the growth-rate sweep on Compare

# --------------------------------------------------------------------------- themes

THEMES = ("light", "dark", "transparent", "transparent-dark", "print")
THEME_TITLES = {"light": "light", "dark": "dark",
                "transparent": "transparent, for a light slide",
                "transparent-dark": "transparent, for a dark slide",
                "print": "greys, dashes and markers"}
MATCH_APP = "match app"  # the app's figure theme follows Streamlit's own light/dark theme
FIGURE_THEMES = (MATCH_APP, *THEMES)  # the app's "Figure theme" choices
DEFAULT_THEME = "light"

# --------------------------------------------------------------------------- colour scales
# Stops from low to high; lightness changes monotonically along each growth-rate scale, so
# small k reads light and large k dark on light backgrounds (the reverse on dark ones).

GROWTH_RATE_SCALES = {
    "light": ("#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58"),  # YlGnBu
    "dark": ("#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"),  # viridis, dark -> light
    "print": ("#b4b4b4", "#8c8c8c", "#636363", "#363636", "#000000"),  # greys, light -> dark
}
METRIC_SCALES = {  # node colour by a metric (low -> high)
    "light": ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"),
    "dark": ("#1b1f3a", "#30427a", "#2a8c8c", "#7ccf63", "#f5e663"),
    "print": ("#ffffff", "#d9d9d9", "#969696", "#525252", "#000000"),
}
CATEGORICAL_PALETTES = {  # one colour per config / block / series, never repeated in a figure
    "light": ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
              "#8c8c8c", "#ccb974", "#64b5cd"),
    "dark": ("#7aa6e8", "#f4a261", "#7fd48a", "#f07178", "#b39ddb", "#c9a87c", "#f2a7d8",
             "#bdbdbd", "#e6d97a", "#7fd3e6"),
    "print": ("#000000", "#4d4d4d", "#7a7a7a", "#a3a3a3", "#262626", "#626262", "#8f8f8f",
              "#b8b8b8", "#111111", "#3a3a3a"),
}
LINE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")  # print: per trace
MARKER_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star",
                  "triangle-down", "pentagon", "hexagon", "star-square", "hourglass")
BAR_PATTERNS = ("", "/", "\\", "x", "-", "|", "+", ".")  # print: per bar series
