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
import shutil
import stat
import tempfile
from collections.abc import Callable, Sequence
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

DIAGRAM_FORMATS = ("svg", "png", "pdf", "dot")
CHART_FORMATS = ("svg", "png", "pdf", "html")
SIGNATURES = {
    "png": b"\x89PNG\r\n\x1a\n",
    "pdf": b"%PDF-",
    "pptx": b"PK\x03\x04",
}
DEFAULT_BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHART_WIDTH, CHART_HEIGHT = 1280, 720  # 16:9, CSS pixels


# --------------------------------------------------------------------------- diagrams


def diagram_bytes(graph: graphviz.Digraph, fmt: str, dpi: int = 300) -> bytes:
    """Render a diagram; pinned layouts (engine neato) are drawn with ``neato -n2``."""
    if fmt not in DIAGRAM_FORMATS:
        raise DenseVisError(
            f"unknown diagram format {fmt!r}; use one of {', '.join(DIAGRAM_FORMATS)}"
        )
    if fmt == "dot":
        return graph.source.encode("utf-8")
    if fmt == "png":
        if not isinstance(dpi, int) or not 10 <= dpi <= 1200:
            raise DenseVisError(f"dpi must be a whole number from 10 to 1200, got {dpi!r}")
        graph = graph.copy()
        graph.attr(dpi=str(dpi))
    no_op = 2 if graph.engine == PINNED_ENGINE else None
    try:
        return graph.pipe(format=fmt, neato_no_op=no_op, quiet=True)
    except graphviz.ExecutableNotFound as error:
        raise DenseVisError("graphviz is not installed: install the `dot` program") from error
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode(errors="replace").strip().splitlines()
        raise DenseVisError(f"graphviz failed: {detail[-1] if detail else error}") from error


# --------------------------------------------------------------------------- charts


def _browser_path() -> None:
    """Point choreographer (kaleido's browser driver) at the system chromium."""
    if not os.environ.get("BROWSER_PATH"):
        for candidate in DEFAULT_BROWSERS:
            if os.path.exists(candidate):
                os.environ["BROWSER_PATH"] = candidate
                return


def _image_options(fmt: str, scale: float) -> dict[str, Any]:
    return {"format": fmt, "scale": scale, "width": CHART_WIDTH, "height": CHART_HEIGHT}


def _html(fig: go.Figure) -> bytes:
    """A self-contained page: plotly.js inlined, works offline."""
    return fig.to_html(full_html=True, include_plotlyjs=True).encode("utf-8")


def figures_bytes(figs: Sequence[go.Figure], fmt: str, scale: float = 2) -> list[bytes]:
    """Render several figures in one browser session (chromium starts once)."""
    if fmt not in CHART_FORMATS:
        raise DenseVisError(f"unknown chart format {fmt!r}; use one of {', '.join(CHART_FORMATS)}")
    if fmt == "html":
        return [_html(fig) for fig in figs]
    if not figs:
        return []
    return _render_batch([(fig, fmt) for fig in figs], scale)


def _render_batch(jobs: Sequence[tuple[go.Figure, str]], scale: float) -> list[bytes]:
    import kaleido

    _browser_path()

    async def render() -> list[bytes]:
        results = []
        async with kaleido.Kaleido(n=1, mathjax=False) as browser:
            for fig, fmt in jobs:
                results.append(await browser.calc_fig(fig, opts=_image_options(fmt, scale)))
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


def figure_bytes(fig: go.Figure, fmt: str, scale: float = 2) -> bytes:
    """One figure as SVG, PNG, PDF or self-contained HTML."""
    return figures_bytes([fig], fmt, scale)[0]


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


# --------------------------------------------------------------------------- slides


def deck_bytes(trace: Trace, diagrams: Sequence[tuple[str, graphviz.Digraph]],
               figures: Sequence[tuple[str, go.Figure]], theme: str = "light") -> bytes:
    """A 16:9 deck: a title slide with the config and headline numbers, then one titled slide
    per diagram and per chart (rendered as PNG)."""

    images = [(title, diagram_bytes(graph, "png", dpi=200)) for title, graph in diagrams]
    chart_pngs = figures_bytes([fig for _, fig in figures], "png") if figures else []
    images += [(title, png) for (title, _), png in zip(figures, chart_pngs, strict=True)]
    return _deck(trace, images, theme)


def _deck(trace: Trace, images: Sequence[tuple[str, bytes]], theme: str) -> bytes:
    """The deck from already rendered PNGs (title, image)."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.util import Emu, Inches, Pt

    look = get_theme(theme)
    deck = Presentation()
    deck.slide_width, deck.slide_height = Emu(12192000), Emu(6858000)  # 13.333 x 7.5 in
    background = None if look.background == "transparent" else look.background
    text_color = RGBColor.from_string(look.foreground.lstrip("#")[:6])

    def paint(slide: Any) -> None:
        if background:
            fill = slide.background.fill
            fill.solid()
            fill.fore_color.rgb = RGBColor.from_string(background.lstrip("#")[:6])

    def style(frame: Any, size: int, bold: bool = False) -> None:
        for paragraph in frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(size)
                run.font.bold = bold
                run.font.name = look.font_family
                run.font.color.rgb = text_color

    config, totals = trace.config, trace.totals
    cover = deck.slides.add_slide(deck.slide_layouts[6])  # blank
    paint(cover)
    heading = cover.shapes.add_textbox(Inches(0.8), Inches(1.2), Inches(11.7), Inches(1.4))
    heading.text_frame.text = f"{config.label} — inside the DenseNet"
    style(heading.text_frame, 40, bold=True)
    body = cover.shapes.add_textbox(Inches(0.8), Inches(2.9), Inches(11.7), Inches(4))
    lines = [
        f"growth rate k = {config.growth_rate}, blocks {'-'.join(map(str, config.block_config))},"
        f" {config.num_init_features} initial features, bottleneck {config.bn_size}·k, "
        f"compression θ = {config.compression}",
        f"input {config.in_channels}×{config.input_size[0]}×{config.input_size[1]}, "
        f"{config.num_classes} classes, {config.stem} stem",
        f"{format_count(totals.params)} parameters",
        f"{format_si(totals.macs)}MACs (conv + linear), {format_si(totals.flops)}FLOPs",
        f"{format_bytes(totals.activation_bytes)} of activations per image, "
        f"depth {totals.depth}",
    ]
    frame = body.text_frame
    frame.text = lines[0]
    for line in lines[1:]:
        frame.add_paragraph().text = line
    style(frame, 20)

    for title, png in images:
        slide = deck.slides.add_slide(deck.slide_layouts[6])
        paint(slide)
        box = slide.shapes.add_textbox(Inches(0.5), Inches(0.25), Inches(12.3), Inches(0.8))
        box.text_frame.text = title
        style(box.text_frame, 28, bold=True)
        picture = slide.shapes.add_picture(io.BytesIO(png), Inches(0.5), Inches(1.15))
        # fit inside the area under the title, keeping the aspect ratio, centred
        max_w, max_h = Inches(12.333), Inches(6.1)
        ratio = min(max_w / picture.width, max_h / picture.height)
        picture.width, picture.height = int(picture.width * ratio), int(picture.height * ratio)
        picture.left = Emu(int((deck.slide_width - picture.width) / 2))
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- everything


def export_all(trace: Trace, directory: str | os.PathLike[str],
               extra_traces: Sequence[Trace] | None = None,
               progress: Callable[[str], None] | None = None,
               theme: str = "light") -> list[Path]:
    """Every view, chart and table of a model in every format, plus a deck (the slide kit).

    `progress` is called with each file name as it is written. Returns the paths written.
    """
    from densevis.render import charts, diagrams, tables

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise DenseVisError(f"cannot write into {folder}")
    options = diagrams.DiagramOptions(theme=theme)
    middle = max(range(1, len(trace.blocks) + 1), key=lambda b: trace.block(b).dense_layers)
    views: list[tuple[str, str, graphviz.Digraph]] = [
        ("overview", "Overview", diagrams.overview_diagram(trace, options)),
    ]
    for block in trace.blocks:
        views.append((f"block{block.index}", f"Dense block {block.index}",
                      diagrams.block_diagram(trace, block.index, options)))
    views.append((f"layer_b{middle}_l2", f"Inside dense layer H2 of block {middle}",
                  diagrams.layer_diagram(trace, middle, min(2, trace.block(middle).dense_layers),
                                         options)))
    views.append(("full", "Full network", diagrams.full_diagram(trace, options)))
    figures: list[tuple[str, str, go.Figure]] = [
        ("chart_channels", "Channel growth",
         charts.channel_growth_chart([trace, *(extra_traces or [])], theme)),
        ("chart_composition", f"Channel composition, block {middle}",
         charts.channel_composition_chart(trace, middle, theme)),
        ("chart_connectivity", f"Connectivity, block {middle}",
         charts.connectivity_chart(trace, middle, "channels", theme)),
        ("chart_cost", "Cost per layer (MACs)", charts.cost_chart(trace, "macs", theme)),
        ("chart_cost_params", "Cost per layer (parameters)",
         charts.cost_chart(trace, "params", theme)),
        ("chart_breakdown", "Parameters and MACs by stage",
         charts.cost_breakdown_chart(trace, theme)),
    ]
    if extra_traces:
        figures.append(("chart_growth", "Growth-rate comparison",
                        charts.growth_rate_chart([trace, *extra_traces], theme)))
    written: list[Path] = []

    def save(name: str, data: bytes) -> None:
        path = folder / name
        write_atomic(path, data)
        written.append(path)
        if progress:
            progress(name)

    for stem, _, graph in views:
        for fmt in DIAGRAM_FORMATS:
            save(f"{stem}.{fmt}", diagram_bytes(graph, fmt))
    # every chart image in one browser session; the deck reuses the PNGs
    image_formats = [fmt for fmt in CHART_FORMATS if fmt != "html"]
    jobs = [(fig, fmt) for fmt in image_formats for _, _, fig in figures]
    rendered = iter(_render_batch(jobs, scale=2))
    chart_pngs: list[tuple[str, bytes]] = []
    for fmt in image_formats:
        for (stem, title, _), data in zip(figures, rendered, strict=False):
            save(f"{stem}.{fmt}", data)
            if fmt == "png":
                chart_pngs.append((title, data))
    for stem, _, fig in figures:
        save(f"{stem}.html", _html(fig))
    frames = (("layers", tables.layer_table(trace)), ("stages", tables.stage_table(trace)),
              ("blocks", tables.block_table(trace)))
    for name, frame in frames:
        for fmt, suffix in (("csv", "csv"), ("markdown", "md"), ("latex", "tex")):
            save(f"table_{name}.{suffix}", tables.table_text(frame, fmt).encode("utf-8"))
    slides = [(title, diagram_bytes(graph, "png", dpi=200)) for stem, title, graph in views
              if stem != "full"]
    save("deck.pptx", _deck(trace, slides + chart_pngs, theme))
    return written


def expected_file_count(trace: Trace, extra_traces: Sequence[Trace] | None = None) -> int:
    """How many files ``export_all`` writes for this trace (for a progress bar)."""
    views = 1 + len(trace.blocks) + 2  # overview, each block, one layer, full
    figures = 6 + (1 if extra_traces else 0)
    tables = 3 * 3
    return views * len(DIAGRAM_FORMATS) + figures * len(CHART_FORMATS) + tables + 1


def which_browser() -> str | None:
    """The chromium kaleido will use, if any."""
    _browser_path()
    return os.environ.get("BROWSER_PATH") or shutil.which("chromium")
