"""Diagrams, charts and tables -> files: SVG, PNG, PDF, DOT, HTML, CSV/Markdown/LaTeX, PPTX.

Charts go through kaleido v1, which drives a headless chromium; ``figures_bytes`` renders a
whole batch in one browser. Files are written to a temp file next to the target and moved
into place, so a failure never leaves half a file. Never imports torch or streamlit.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphviz

from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.render.graphviz import PINNED_ENGINE
from densevis.render.theme import get_theme
from densevis.units import format_bytes, format_count, format_si

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from densevis.config import DenseNetConfig
    from densevis.render.layout import DiagramOptions

DIAGRAM_FORMATS = ("svg", "png", "pdf", "dot")
CHART_FORMATS = ("svg", "png", "pdf", "html")
SIGNATURES = {
    "png": b"\x89PNG\r\n\x1a\n",
    "pdf": b"%PDF-",
    "pptx": b"PK\x03\x04",
}
DEFAULT_BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DPI_CHOICES = (72, 150, 300)  # PNG resolutions offered (screen, slides, print)
DEFAULT_DPI = 150  # sharp on a projector, small enough for a deck
SLIDE_INCHES = (13.333, 7.5)  # a 16:9 slide; PNG/PDF exports are drawn to fill it
CSS_PPI = 96  # CSS pixels per inch: a 1280 x 720 chart is 13.33 x 7.5 in
CHART_WIDTH, CHART_HEIGHT = 1280, 720  # 16:9, CSS pixels


# --------------------------------------------------------------------------- names


def _model_slug(config: DenseNetConfig) -> str:
    """A preset's name (also for a preset with another k), else "densenet-6-12-24-16"."""
    from densevis.config import matching_preset

    if config.name != "custom":
        return config.name
    return matching_preset(config, ignoring=("growth_rate",)) or "densenet-" + "-".join(
        str(n) for n in config.block_config)


def file_name(traces: Trace | Sequence[Trace], subject: str, fmt: str | None = None, *,
              block: int | None = None, layer: int | None = None,
              highlight: tuple[int, int] | None = None) -> str:
    """A file name that says what the file holds, e.g. ``densenet121-k32-block3-layer12.svg``
    or ``densenet121-compare-k12-k48-block3.png``.

    `subject` is a view ("overview", "block", "layer", "full"), a chart or table name, or
    "deck"/"kit"; `block` and `layer` are the numbers it shows; `highlight` is the (block,
    layer) highlighted in it; without `fmt`, no suffix (a folder). Several traces name a
    comparison."""
    group = [traces] if isinstance(traces, Trace) else list(traces)
    configs = [trace.config for trace in group if trace.config is not None]
    slugs = list(dict.fromkeys(_model_slug(config) for config in configs))
    rates = "-".join(f"k{config.growth_rate}" for config in configs)
    if len(configs) < len(group):  # a custom module: named by its class
        model = "-".join(trace.model for trace in group)
    elif len(configs) == 1:
        model = f"{slugs[0]}-{rates}"
    elif len(slugs) == 1:
        model = f"{slugs[0]}-compare-{rates}"
    else:
        model = "compare-" + "-".join(f"{_model_slug(c)}-k{c.growth_rate}" for c in configs)
    parts = [model]
    if subject not in ("block", "layer"):
        parts.append(subject)
    if block is not None:
        parts.append(f"block{block}" + (f"-layer{layer}" if layer is not None else ""))
    if highlight is not None:
        parts.append(f"highlight{highlight[0]}.{highlight[1]}")
    name = "-".join(parts).lower()
    return re.sub(r"[^a-z0-9.=_-]+", "-", name).strip("-") + (f".{fmt}" if fmt else "")


# --------------------------------------------------------------------------- diagrams


def png_with_dpi(png: bytes, dpi: int, palette: bool = False) -> bytes:
    """The PNG with its resolution written in the pHYs chunk, so slide software places it at
    its real size; with `palette`, at most 256 colours (a diagram's few colours: 3-4x smaller)."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        image.load()
    if palette and image.mode in ("RGB", "RGBA"):
        image = image.quantize(256, method=Image.Quantize.FASTOCTREE,
                               dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(dpi, dpi))
    return out.getvalue()


def check_dpi(dpi: int) -> int:
    """The dpi if it is one of DPI_CHOICES, else a DenseVisError that lists them."""
    if dpi not in DPI_CHOICES:
        raise DenseVisError(f"dpi must be one of {', '.join(map(str, DPI_CHOICES))}, "
                            f"got {dpi!r}")
    return dpi


def diagram_bytes(graph: graphviz.Digraph, fmt: str, dpi: int = DEFAULT_DPI) -> bytes:
    """Render a diagram; pinned layouts (engine neato) are drawn with ``neato -n2``.

    PNG and PDF are scaled to fill a 16:9 slide (13.33 x 7.5 in) at `dpi`; SVG keeps the
    layout's own size and its text as text."""
    if fmt not in DIAGRAM_FORMATS:
        raise DenseVisError(
            f"unknown diagram format {fmt!r}; use one of {', '.join(DIAGRAM_FORMATS)}"
        )
    if fmt == "dot":
        return graph.source.encode("utf-8")
    if fmt in ("png", "pdf"):
        graph = graph.copy()
        graph.attr(size="{:.3f},{:.3f}!".format(*SLIDE_INCHES))
        if fmt == "png":
            graph.attr(dpi=str(check_dpi(dpi)))
    no_op = 2 if graph.engine == PINNED_ENGINE else None
    try:
        data = graph.pipe(format=fmt, neato_no_op=no_op, quiet=True)
    except graphviz.ExecutableNotFound as error:
        raise DenseVisError("graphviz is not installed: install the `dot` program") from error
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise DenseVisError(f"graphviz failed: {detail[-1] if detail else error}") from error
    return png_with_dpi(data, dpi, palette=True) if fmt == "png" else data


def view_graph(trace: Trace, view: str, block: int = 1, layer: int = 1,
               options: DiagramOptions | None = None, slide: bool = True) -> graphviz.Digraph:
    """A view as drawn for export: its layout (the same the app draws), re-laid for a 16:9
    slide unless ``slide`` is False, as a pinned graphviz graph."""
    from densevis.render.graphviz import to_graphviz
    from densevis.render.layout import DiagramOptions, layout
    from densevis.render.slide import fit_slide

    options = options or DiagramOptions()
    drawn = layout(trace, view, block, layer, options)
    return to_graphviz(fit_slide(drawn) if slide else drawn, options.theme)


def untitled_diagram(graph: graphviz.Digraph) -> graphviz.Digraph:
    """The diagram without its title line (a slide's title says it)."""
    copy = graph.copy()
    copy.attr(label="")
    return copy


# --------------------------------------------------------------------------- charts


def _browser_path() -> None:
    """Point choreographer (kaleido's browser driver) at the system chromium."""
    if not os.environ.get("BROWSER_PATH"):
        for candidate in DEFAULT_BROWSERS:
            if os.path.exists(candidate):
                os.environ["BROWSER_PATH"] = candidate
                return


def _image_options(fmt: str, dpi: int) -> dict[str, Any]:
    scale = dpi / CSS_PPI if fmt == "png" else 1
    return {"format": fmt, "scale": scale, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def _html(fig: go.Figure) -> bytes:
    """A self-contained page: plotly.js inlined, works offline."""
    return fig.to_html(full_html=True, include_plotlyjs=True).encode("utf-8")


def _z_range(heatmap: Any) -> tuple[float, float]:
    values = [v for row in heatmap.z for v in row if v is not None and v == v]
    low = heatmap.zmin if heatmap.zmin is not None else min(values, default=0)
    return low, heatmap.zmax if heatmap.zmax is not None else max(values, default=1)


def _cell_shapes(heatmap: Any) -> list[dict[str, Any]]:
    """A heatmap's cells as filled rectangles (category positions: index ± 0.5)."""
    from plotly.colors import sample_colorscale

    low, high = _z_range(heatmap)
    scale = [list(stop) for stop in heatmap.colorscale]
    gap_x, gap_y = (heatmap.xgap or 0) / 100, (heatmap.ygap or 0) / 100
    shapes = []
    for row, line in enumerate(heatmap.z):
        for column, value in enumerate(line):
            if value is None or value != value:
                continue
            fraction = (value - low) / (high - low) if high > low else 1.0
            color = sample_colorscale(scale, [min(max(fraction, 0.0), 1.0)])[0]
            shapes.append({"type": "rect", "xref": heatmap.xaxis or "x",
                           "yref": heatmap.yaxis or "y", "layer": "between", "line_width": 0,
                           "x0": column - 0.5 + gap_x, "x1": column + 0.5 - gap_x,
                           "y0": row - 0.5 + gap_y, "y1": row + 0.5 - gap_y, "fillcolor": color})
    return shapes


def vector_figure(fig: go.Figure) -> go.Figure:
    """The figure with every heatmap drawn as rectangles, so SVG and PDF hold no raster
    (plotly paints heatmaps as an embedded image); the colour bar and axes stay as they were."""
    import plotly.graph_objects as go

    if not any(trace.type == "heatmap" for trace in fig.data):
        return fig
    copy = go.Figure(fig)
    data, shapes = [], list(copy.layout.shapes)
    for trace in copy.data:
        if trace.type != "heatmap":
            data.append(trace)
            continue
        shapes += _cell_shapes(trace)
        xs = list(trace.x) if trace.x is not None else list(range(len(trace.z[0])))
        ys = list(trace.y) if trace.y is not None else list(range(len(trace.z)))
        span, (low, high) = max(len(xs), len(ys)), _z_range(trace)
        data.append(go.Scatter(  # keeps the categories, the axes and the colour bar
            x=[xs[i % len(xs)] for i in range(span)], y=[ys[i % len(ys)] for i in range(span)],
            mode="markers", hoverinfo="skip", showlegend=False, xaxis=trace.xaxis,
            yaxis=trace.yaxis, marker={"opacity": 0, "color": [low] * span,
                                       "colorscale": trace.colorscale, "cmin": low,
                                       "cmax": high, "showscale": trace.showscale,
                                       "colorbar": trace.colorbar.to_plotly_json()}))
    copy = go.Figure(data=data, layout=copy.layout)
    copy.update_layout(shapes=shapes)
    return copy


def figures_bytes(figs: Sequence[go.Figure], fmt: str, dpi: int = DEFAULT_DPI) -> list[bytes]:
    """Render several figures in one browser session (chromium starts once). A chart is a
    13.33 x 7.5 in slide; PNGs have `dpi` pixels per inch, written in the file."""
    if fmt not in CHART_FORMATS:
        raise DenseVisError(f"unknown chart format {fmt!r}; use one of {', '.join(CHART_FORMATS)}")
    if fmt == "html":
        return [_html(fig) for fig in figs]
    if not figs:
        return []
    return _render_batch([(fig, fmt) for fig in figs], check_dpi(dpi))


def _vector(fig: go.Figure, fmt: str) -> go.Figure:
    return vector_figure(fig) if fmt in ("svg", "pdf") else fig


def _render_batch(jobs: Sequence[tuple[go.Figure, str]], dpi: int) -> list[bytes]:
    import kaleido

    _browser_path()

    async def render() -> list[bytes]:
        results = []
        async with kaleido.Kaleido(n=1, mathjax=False) as browser:
            for fig, fmt in jobs:
                data = await browser.calc_fig(_vector(fig, fmt), opts=_image_options(fmt, dpi))
                results.append(png_with_dpi(data, dpi) if fmt == "png" else data)
        return results

    try:
        return asyncio.run(render())
    except RuntimeError as error:
        if "running event loop" not in str(error):
            raise
        # called from inside an event loop (e.g. a notebook): run in a worker thread
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, render()).result()


def figure_bytes(fig: go.Figure, fmt: str, dpi: int = DEFAULT_DPI) -> bytes:
    """One figure as SVG, PNG, PDF or self-contained HTML."""
    return figures_bytes([fig], fmt, dpi)[0]


def untitled_figure(fig: go.Figure) -> go.Figure:
    """A copy of the chart without its title (a slide's title says it)."""
    import plotly.graph_objects as go

    copy = go.Figure(fig)
    copy.update_layout(title_text="", margin_t=30)
    return copy


# --------------------------------------------------------------------------- files


def _umask() -> int:
    """The process umask, read without changing it (Linux), else by setting and restoring."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _real_target(path: str | os.PathLike[str]) -> tuple[Path, os.stat_result | None]:
    """The file a write lands in (symlinks followed) and its stat, None when it is new."""
    target = Path(os.path.realpath(path))
    try:
        return target, target.stat()
    except FileNotFoundError:
        return target, None


def write_atomic(path: str | os.PathLike[str], data: bytes) -> bool:
    """Write ``data`` to ``path`` whole or not at all; True when a file was replaced.

    A regular file (or a symlink's target: the link stays a link) is written to a temp file
    in its folder, flushed to disk and moved into place, keeping the old file's mode (a new
    file gets 0666 minus the umask), so a full disk or a crash leaves the old file as it was.
    A character device or a FIFO (``/dev/null``, a pipe) is written directly, never
    replaced; a folder, socket or block device is refused.
    """
    target, info = _real_target(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
            with open(target, "wb") as stream:
                stream.write(data)
            return False
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise DenseVisError(f"cannot write {path}: it is {kind}")
    folder = target.parent
    if not folder.is_dir():
        raise DenseVisError(f"cannot write {path}: folder {folder} does not exist")
    try:
        handle, temp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise DenseVisError(f"cannot write {path}: {error.strerror or error}") from error
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, stat.S_IMODE(info.st_mode) if info else 0o666 & ~_umask())
        if info is not None and info.st_uid != os.geteuid():
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(temp, info.st_uid, info.st_gid)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return info is not None


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early (before any rendering) when the output cannot be written."""
    target, info = _real_target(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise DenseVisError(f"cannot write {path}: it is a folder")
    if info is not None and not (stat.S_ISREG(info.st_mode) or stat.S_ISCHR(info.st_mode)
                                 or stat.S_ISFIFO(info.st_mode)):
        raise DenseVisError(f"cannot write {path}: it is not a regular file")
    folder = target.parent
    if not folder.is_dir():
        raise DenseVisError(f"cannot write {path}: folder {Path(path).parent} does not exist")
    if info is None and not os.access(folder, os.W_OK):
        raise DenseVisError(f"cannot write {path}: folder {folder} is not writable")
    if info is not None and not os.access(target, os.W_OK) and not os.access(folder, os.W_OK):
        raise DenseVisError(f"cannot write {path}: it is not writable")
    return Path(path)


# --------------------------------------------------------------------------- the slide kit


@dataclass(frozen=True, eq=False)
class KitItem:
    """One picture of the slide kit: a diagram or a chart, what it shows and its slide title."""

    subject: str  # view or chart name (for the file name)
    title: str  # the slide's title
    graph: graphviz.Digraph | None = None
    figure: go.Figure | None = None
    block: int | None = None  # the block it shows, if one
    layer: int | None = None  # the dense layer it shows, if one


def _largest_block(trace: Trace) -> int:
    return max(trace.blocks, key=lambda block: block.dense_layers).index


def view_title(view: str, block: int = 1, layer: int = 1,
               selected: tuple[int, int] | None = None) -> str:
    """A slide title for a diagram view ("Dense block 3, dense layer H12 highlighted")."""
    if view == "block":
        marked = selected is not None and selected[0] == block
        return f"Dense block {block}" + (f", dense layer H{selected[1]} highlighted"
                                         if marked and selected else "")
    if view == "layer":
        return f"Inside dense layer H{layer} of block {block}"
    return {"overview": "Overview", "full": "Full network"}.get(view, view)


def kit_views(trace: Trace, theme: str = "light", selected: tuple[int, int] | None = None
              ) -> list[KitItem]:
    """The representative diagrams, laid out for 16:9 slides: overview, every block (the
    selected dense layer highlighted in its block), inside the selected layer, the full
    network."""
    from densevis.render.layout import DiagramOptions

    highlight = (f"features.denseblock{selected[0]}.denselayer{selected[1]}"
                 if selected else None)
    options = DiagramOptions(theme=theme, highlight=highlight)
    views = [KitItem("overview", view_title("overview"),
                     view_graph(trace, "overview", options=options))]
    if not trace.blocks:  # a custom module without dense blocks: the overview only
        return views
    for block in trace.blocks:
        views.append(KitItem("block", view_title("block", block.index, selected=selected),
                             view_graph(trace, "block", block.index, options=options),
                             block=block.index))
    if selected:
        block, layer = selected
        views.append(KitItem("layer", view_title("layer", block, layer),
                             view_graph(trace, "layer", block, layer, options),
                             block=block, layer=layer))
    views.append(KitItem("full", view_title("full"), view_graph(trace, "full", options=options)))
    return views


def kit_charts(trace: Trace, extra_traces: Sequence[Trace] = (), theme: str = "light",
               selected: tuple[int, int] | None = None) -> list[KitItem]:
    """The kit's charts; per-block charts show the selected layer's block, else the largest."""
    from densevis.render import charts

    breakdown = KitItem("breakdown", "Parameters and MACs by stage",
                        figure=charts.cost_breakdown_chart(trace, theme))
    if not trace.blocks:  # a custom module without dense blocks: the stages only
        return [breakdown]
    block = selected[0] if selected else _largest_block(trace)
    items = [
        KitItem("channels", "Channel growth",
                figure=charts.channel_growth_chart([trace, *extra_traces], theme)),
        KitItem("composition", f"Channel composition, block {block}",
                figure=charts.channel_composition_chart(trace, block, theme), block=block),
        KitItem("connectivity", f"Connectivity, block {block}",
                figure=charts.connectivity_chart(trace, block, "channels", theme), block=block),
        KitItem("cost-macs", "Cost per layer (MACs)",
                figure=charts.cost_chart(trace, "macs", theme)),
        KitItem("cost-params", "Cost per layer (parameters)",
                figure=charts.cost_chart(trace, "params", theme)),
        breakdown,
    ]
    if extra_traces:
        items.append(KitItem("growth", "Growth-rate comparison",
                             figure=charts.growth_rate_chart([trace, *extra_traces], theme)))
    return items


def slide_kit(trace: Trace, extra_traces: Sequence[Trace] = (), theme: str = "light",
              selected: tuple[int, int] | None = None) -> list[KitItem]:
    """Every picture of the kit and its deck, diagrams first (the app's and the CLI's)."""
    return kit_views(trace, theme, selected) + kit_charts(trace, extra_traces, theme, selected)


def expected_file_count(trace: Trace, extra_traces: Sequence[Trace] | None = None,
                        selected: tuple[int, int] | None = None) -> int:
    """How many files ``export_all`` writes (for a progress bar), without drawing anything."""
    views = 1 + (len(trace.blocks) + (1 if selected else 0) + 1 if trace.blocks else 0)
    figures = (6 if trace.blocks else 1) + (1 if extra_traces else 0)
    tables = 3 * 3
    return views * len(DIAGRAM_FORMATS) + figures * len(CHART_FORMATS) + tables + 1


# --------------------------------------------------------------------------- slides


_TITLE_TOP, _TITLE_HEIGHT, _MARGIN = 0.25, 0.8, 0.5  # inches
_PICTURE_TOP, _PICTURE_BOTTOM = 1.15, 7.3  # inches: the area under the title


def deck_bytes(trace: Trace, items: Sequence[KitItem], theme: str = "light",
               dpi: int = DEFAULT_DPI) -> bytes:
    """A 16:9 deck: a title slide with the config and headline numbers, then one slide per
    picture, its title once (the picture itself is drawn untitled), centred below it."""
    images: dict[int, bytes] = {}
    for index, item in enumerate(items):
        if item.graph is not None:
            images[index] = diagram_bytes(untitled_diagram(item.graph), "png", dpi)
    charted = [index for index, item in enumerate(items) if item.figure is not None]
    pngs = figures_bytes([untitled_figure(items[i].figure) for i in charted], "png", dpi)
    images.update(zip(charted, pngs, strict=True))
    return _deck(trace, [(item.title, images[index]) for index, item in enumerate(items)], theme)


def kit_deck(trace: Trace, extra_traces: Sequence[Trace] = (), theme: str = "light",
             selected: tuple[int, int] | None = None, dpi: int = DEFAULT_DPI) -> bytes:
    """The slide kit's deck: what the app's deck button and ``densevis export --all`` give."""
    return deck_bytes(trace, slide_kit(trace, extra_traces, theme, selected), theme, dpi)


def _cover_lines(trace: Trace) -> list[str]:
    config, totals = trace.config, trace.totals
    described = [
        f"growth rate k = {config.growth_rate}, blocks {'-'.join(map(str, config.block_config))},"
        f" {config.num_init_features} initial features, bottleneck {config.bn_size}·k, "
        f"compression θ = {config.compression}",
        f"input {config.in_channels}×{config.input_size[0]}×{config.input_size[1]}, "
        f"{config.num_classes} classes, {config.stem} stem",
    ] if config is not None else [
        "a custom module; dense blocks found from its data flow: " + (", ".join(
            f"L = {b.dense_layers} (k = {b.growth_rate})" for b in trace.blocks) or "none"),
        f"input {'×'.join(map(str, trace.image_shape))}, {len(trace.edges)} skip/residual joins",
    ]
    return [
        *described,
        f"{format_count(totals.params)} parameters",
        f"{format_si(totals.macs)}MACs (conv + linear), {format_si(totals.flops)}FLOPs",
        f"{format_bytes(totals.activation_bytes)} of activations per image, "
        f"depth {totals.depth}",
    ]


class _Slides:
    """A python-pptx presentation at 16:9 with the theme's background, font and text colour."""

    def __init__(self, theme: str) -> None:
        from pptx import Presentation
        from pptx.util import Emu, Inches

        self.look = get_theme(theme)
        self.deck = Presentation()
        height = Inches(SLIDE_INCHES[1])  # 6,858,000 EMU; exactly 16:9 wide
        self.deck.slide_width, self.deck.slide_height = Emu(height * 16 // 9), height

    def slide(self, title: str, top: float = _TITLE_TOP, size: int = 28) -> Any:
        """A new "Title Only" slide with its one title placed and styled."""
        from pptx.dml.color import RGBColor
        from pptx.util import Inches

        slide = self.deck.slides.add_slide(self.deck.slide_layouts[5])  # Title Only
        if self.look.background != "transparent":
            fill = slide.background.fill
            fill.solid()
            fill.fore_color.rgb = RGBColor.from_string(self.look.background.lstrip("#")[:6])
        heading = slide.shapes.title
        heading.left, heading.top = Inches(_MARGIN), Inches(top)
        heading.width = self.deck.slide_width - 2 * Inches(_MARGIN)
        heading.height = Inches(_TITLE_HEIGHT)
        heading.text_frame.text = title
        self.style(heading.text_frame, size, bold=True)
        return slide

    def style(self, frame: Any, size: int, bold: bool = False) -> None:
        from pptx.dml.color import RGBColor
        from pptx.enum.text import PP_ALIGN
        from pptx.util import Pt

        color = RGBColor.from_string(self.look.foreground.lstrip("#")[:6])
        for paragraph in frame.paragraphs:
            paragraph.alignment = PP_ALIGN.LEFT
            for run in paragraph.runs:
                run.font.size, run.font.bold = Pt(size), bold
                run.font.name, run.font.color.rgb = self.look.font_family, color

    def picture(self, slide: Any, png: bytes) -> None:
        """The picture scaled to fit the area under the title, aspect kept, centred in it."""
        from pptx.util import Emu, Inches

        picture = slide.shapes.add_picture(io.BytesIO(png), 0, 0)
        area_w = self.deck.slide_width - 2 * Inches(_MARGIN)
        area_h = Inches(_PICTURE_BOTTOM - _PICTURE_TOP)
        ratio = min(area_w / picture.width, area_h / picture.height)
        picture.width, picture.height = int(picture.width * ratio), int(picture.height * ratio)
        picture.left = Emu((self.deck.slide_width - picture.width) // 2)
        picture.top = Emu(Inches(_PICTURE_TOP) + (area_h - picture.height) // 2)

    def save(self) -> bytes:
        out = io.BytesIO()
        self.deck.save(out)
        return out.getvalue()


def _deck(trace: Trace, images: Sequence[tuple[str, bytes]], theme: str) -> bytes:
    """The deck from already rendered PNGs (title, image)."""
    from pptx.util import Inches

    slides = _Slides(theme)
    network = "the DenseNet" if trace.config is not None else "the network"
    cover = slides.slide(f"{trace.model} — inside {network}", top=1.2, size=40)
    body = cover.shapes.add_textbox(Inches(0.8), Inches(2.9), Inches(11.7), Inches(4))
    lines = _cover_lines(trace)
    body.text_frame.word_wrap = True
    body.text_frame.text = lines[0]
    for line in lines[1:]:
        body.text_frame.add_paragraph().text = line
    slides.style(body.text_frame, 20)
    for title, png in images:
        slides.picture(slides.slide(title), png)
    return slides.save()


# --------------------------------------------------------------------------- everything


def export_all(trace: Trace, directory: str | os.PathLike[str],
               extra_traces: Sequence[Trace] | None = None,
               progress: Callable[[str], None] | None = None,
               theme: str = "light", selected: tuple[int, int] | None = None,
               dpi: int = DEFAULT_DPI) -> list[Path]:
    """The slide kit: its views, charts and tables in every format, plus its deck.

    `selected` is the (block, dense layer) to show inside and highlight. `progress` is called
    with each file name as it is written. Returns the paths written."""
    from densevis.render import tables

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise DenseVisError(f"cannot write into {folder}")
    check_dpi(dpi)
    items = slide_kit(trace, extra_traces or (), theme, selected)
    written: list[Path] = []

    def save(item: KitItem | str, fmt: str, data: bytes) -> None:
        subject = item if isinstance(item, str) else item.subject
        block = None if isinstance(item, str) else item.block
        layer = None if isinstance(item, str) else item.layer
        path = folder / file_name(trace, subject, fmt, block=block, layer=layer)
        write_atomic(path, data)
        written.append(path)
        if progress:
            progress(path.name)

    for item in items:
        if item.graph is not None:
            for fmt in DIAGRAM_FORMATS:
                save(item, fmt, diagram_bytes(item.graph, fmt, dpi))
    figures = [item for item in items if item.figure is not None]
    image_formats = [fmt for fmt in CHART_FORMATS if fmt != "html"]
    jobs = [(item.figure, fmt) for fmt in image_formats for item in figures]
    rendered = iter(_render_batch(jobs, dpi))  # every chart image in one browser session
    for fmt in image_formats:
        for item, data in zip(figures, rendered, strict=False):
            save(item, fmt, data)
    for item in figures:
        save(item, "html", _html(item.figure))
    frames = (("layers", tables.layer_table(trace)), ("stages", tables.stage_table(trace)),
              ("blocks", tables.block_table(trace)))
    for name, frame in frames:
        for fmt, suffix in (("csv", "csv"), ("markdown", "md"), ("latex", "tex")):
            save(name, suffix, tables.table_text(frame, fmt).encode("utf-8"))
    save("deck", "pptx", deck_bytes(trace, items, theme, dpi))
    return written


def which_browser() -> str | None:
    """The chromium kaleido will use, if any."""
    _browser_path()
    return os.environ.get("BROWSER_PATH") or shutil.which("chromium")
