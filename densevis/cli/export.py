"""`densevis export`: one diagram or chart to a file, or `--all` of them (the slide kit)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from densevis.cli.common import add_model_options, add_module_options
from densevis.errors import DenseVisError
from densevis.render.export import DEFAULT_DPI, DPI_CHOICES
from densevis.render.registry import (
    CHARTS,
    COLOR_METRICS,
    DIRECTIONS,
    GROWTH_RATES,
    SHOW_FIELDS,
    THEMES,
    VIEWS,
)

if TYPE_CHECKING:
    from densevis.records import Trace
    from densevis.render.diagrams import DiagramOptions

FORMATS = ("svg", "png", "pdf", "dot", "html", "pptx")
CONTENTS_ALIASES = {"shapes": "shape"}  # --contents shapes,params,... -> node fields


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="draw a diagram or chart to a file, or --all of them (the slide kit)")
    add_model_options(parser)
    add_module_options(parser)
    parser.add_argument("--checkpoint", help="with --module: load this state_dict into it")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--view", choices=VIEWS, help="diagram (default overview)")
    what.add_argument("--chart", choices=CHARTS, help="chart")
    what.add_argument("--all", action="store_true",
                      help="the slide kit: overview, every block, the --highlight layer, the "
                           "full network and the charts, in every format, plus a deck")
    parser.add_argument("--block", type=int, help="dense block number (from 1; default 1)")
    parser.add_argument("--layer", type=int, help="dense layer number in the block (default 1)")
    parser.add_argument("--format", choices=FORMATS, help="default: from -o's suffix, else svg")
    parser.add_argument("--theme", default="light", choices=THEMES)
    parser.add_argument("--dpi", type=int, default=DEFAULT_DPI, choices=DPI_CHOICES,
                        help=f"PNG resolution on a 13.33 x 7.5 in slide (default {DEFAULT_DPI})")
    parser.add_argument("--direction", default="LR", choices=DIRECTIONS,
                        help="LR (left to right) or TB (top to bottom)")
    parser.add_argument("--color-by", choices=[m for m in COLOR_METRICS if m != "latency"],
                        help="colour dense layers by a metric, with a legend")
    parser.add_argument("--contents", default="shapes,params,macs",
                        help="what nodes show, comma separated: "
                             "shapes,params,macs (default) or none")
    parser.add_argument("--highlight", help="a dense layer to highlight with its inputs and "
                                            "consumers: 3.12 or denseblock3.denselayer12")
    parser.add_argument("--expand", action="store_true", help="full view: list each layer's ops")
    parser.add_argument("--slide", action=argparse.BooleanOptionalAction, default=True,
                        help="re-lay the diagram to fill a 16:9 slide: long strips folded into "
                             "rows, low arcs raised (default); --no-slide keeps the app's layout")
    parser.add_argument("-o", "--output",
                        help="output file, or a folder to put a named file in (default: a name "
                             "like densenet121-k32-block3.svg here); with --all, the folder")
    parser.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    suffix = Path(args.output).suffix.lstrip(".").lower() if args.output else ""
    fmt = args.format or (suffix if suffix in FORMATS else "svg")
    if args.chart and fmt == "dot":
        raise DenseVisError("charts export as svg, png, pdf, html or pptx, not dot")
    if not args.chart and fmt == "html":
        raise DenseVisError("diagrams export as svg, png, pdf, dot or pptx; html is for charts")
    return fmt


def contents(text: str) -> tuple[str, ...]:
    """--contents "shapes,params,macs" -> the node fields ("shape", "params", "macs")."""
    items = [CONTENTS_ALIASES.get(item.strip(), item.strip()) for item in text.split(",")]
    fields = tuple(item for item in items if item and item != "none")
    unknown = [item for item in fields if item not in SHOW_FIELDS]
    if unknown:
        raise DenseVisError(f"unknown --contents {', '.join(unknown)}; use shapes, params, "
                            "macs (latency needs a profile: use the app's Latency page)")
    if "latency" in fields:
        raise DenseVisError("--contents latency needs measured latencies: the CLI export has "
                            "none; measure them on the app's Latency page and export there")
    return fields


def selected_layer(trace: Trace, args: argparse.Namespace) -> tuple[int, int] | None:
    """(block, layer) that --highlight names (3.12, denseblock3.denselayer12, a full name)."""
    if not args.highlight:
        return None
    from densevis.search import find_dense_layer

    row = find_dense_layer(trace, args.highlight)
    if row is None:
        raise DenseVisError(f"no dense layer matches --highlight {args.highlight!r}; use "
                            "3.12 or denseblock3.denselayer12")
    return row.block, row.position


def _options(args: argparse.Namespace, selected: tuple[int, int] | None) -> DiagramOptions:
    from densevis.render.diagrams import DiagramOptions

    highlight = f"features.denseblock{selected[0]}.denselayer{selected[1]}" if selected else None
    return DiagramOptions(direction=args.direction, color_by=args.color_by,
                          show=contents(args.contents), highlight=highlight, theme=args.theme,
                          expand=args.expand)


def _variants(trace: Trace, args: argparse.Namespace) -> list[Trace]:
    """Traces of the same config at the other growth rates (for the comparison charts)."""
    from densevis.cli.common import max_memory_from_args
    from densevis.tracer import trace as trace_model

    config = trace.config
    if config is None:  # a custom module: nothing to rebuild at other growth rates
        return []
    return [trace_model(config.replace(growth_rate=k), device=args.device,
                        max_memory=max_memory_from_args(args))
            for k in GROWTH_RATES if k != config.growth_rate]


def _target(args: argparse.Namespace, name: str) -> Path:
    """-o as given, or the named file in -o's folder (or here)."""
    from densevis.render.export import check_writable

    output = Path(args.output) if args.output else Path(".")
    return check_writable(output / name if output.is_dir() else output)


def run(args: argparse.Namespace) -> int:
    from densevis.cli.summary import load_trace
    from densevis.render import export

    if args.all:
        return _run_all(args)
    fmt = _format(args)
    contents(args.contents)
    if args.output and not Path(args.output).is_dir():
        export.check_writable(args.output)  # before tracing: fail fast
    result = load_trace(args)
    selected = selected_layer(result, args)
    block = args.block or (selected[0] if selected else 1)
    layer = args.layer or (selected[1] if selected and selected[0] == block else 1)
    if args.chart:
        data, name = _chart(result, args, block, fmt)
    else:
        data, name = _diagram(result, args, block, layer, selected, fmt)
    target = _target(args, name)
    export.write_atomic(target, data)
    print(f"wrote {target} ({len(data):,} bytes)")
    return 0


def _chart(trace: Trace, args: argparse.Namespace, block: int, fmt: str) -> tuple[bytes, str]:
    from densevis.render import export
    from densevis.render.charts import chart

    extra = _variants(trace, args) if args.chart in ("channels", "growth") else None
    figure = chart(trace, args.chart, block=block, theme=args.theme, extra_traces=extra)
    per_block = args.chart in ("composition", "connectivity")
    name = export.file_name(trace, args.chart, fmt, block=block if per_block else None)
    if fmt == "pptx":
        item = export.KitItem(args.chart, figure.layout.title.text or args.chart, figure=figure)
        return export.deck_bytes(trace, [item], args.theme, args.dpi), name
    return export.figure_bytes(figure, fmt, args.dpi), name


def _diagram(trace: Trace, args: argparse.Namespace, block: int, layer: int,
             selected: tuple[int, int] | None, fmt: str) -> tuple[bytes, str]:
    from densevis.render import export

    view = args.view or "overview"
    graph = export.view_graph(trace, view, block, layer, _options(args, selected), args.slide)
    shown_block = block if view in ("block", "layer") else None
    highlight = selected if view in ("block", "full") else None
    name = export.file_name(trace, view, fmt, block=shown_block,
                            layer=layer if view == "layer" else None, highlight=highlight)
    if fmt == "pptx":
        item = export.KitItem(view, export.view_title(view, block, layer, selected), graph=graph)
        return export.deck_bytes(trace, [item], args.theme, args.dpi), name
    return export.diagram_bytes(graph, fmt, args.dpi), name


def _run_all(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from densevis.cli.summary import load_trace
    from densevis.render import export

    if args.output:
        folder = Path(args.output)
        if folder.exists() and not folder.is_dir():
            raise DenseVisError(f"--all writes into a folder, but {folder} is a file")
        if not folder.parent.is_dir():
            raise DenseVisError(f"cannot create {folder}: {folder.parent} does not exist")
    result = load_trace(args)
    selected = selected_layer(result, args)
    folder = Path(args.output or export.file_name(result, "kit"))
    extra = _variants(result, args)
    before = {path.name for path in folder.iterdir()} if folder.is_dir() else set()
    total = export.expected_file_count(result, extra, selected)
    with Progress(TextColumn("[bold]exporting[/bold]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}")) as progress:
        task = progress.add_task("", total=total)

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=name)

        written = export.export_all(result, folder, extra_traces=extra, progress=advance,
                                    theme=args.theme, selected=selected, dpi=args.dpi)
    replaced = sorted(path.name for path in written if path.name in before)
    print(f"wrote {len(written)} files into {folder}")
    if replaced:
        print(f"replaced {len(replaced)} older file(s) of the same names: {', '.join(replaced)}; "
              "no other file was touched")
    return 0
