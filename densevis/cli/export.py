"""`densevis export`: one diagram or chart to a file, or `--all` of them into a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from densevis.cli.common import add_model_options
from densevis.errors import DenseVisError
from densevis.render.registry import CHARTS as CHART_NAMES
from densevis.render.registry import DIRECTIONS, GROWTH_RATES
from densevis.render.registry import THEMES as THEME_NAMES
from densevis.render.registry import VIEWS as VIEW_NAMES

FORMATS = ("svg", "png", "pdf", "dot", "html", "pptx")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="draw a diagram or chart to a file, or --all of them (the slide kit)")
    add_model_options(parser)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--view", help=f"diagram: {'|'.join(VIEW_NAMES)} (default overview)")
    what.add_argument("--chart", help=f"chart: {'|'.join(CHART_NAMES)}")
    what.add_argument("--all", action="store_true",
                      help="every view, chart and table in every format, plus a deck, into -o DIR")
    parser.add_argument("--block", type=int, default=1, help="dense block number (from 1)")
    parser.add_argument("--layer", type=int, default=1, help="dense layer number in the block")
    parser.add_argument("--format", help=f"{'|'.join(FORMATS)} (default: from -o, else svg)")
    parser.add_argument("--theme", default="light", help=f"{'|'.join(THEME_NAMES)}")
    parser.add_argument("--dpi", type=int, default=300, help="PNG resolution of diagrams")
    parser.add_argument("--direction", default="LR", help=f"{' or '.join(DIRECTIONS)}")
    parser.add_argument("--color-by", help="colour nodes by params|macs|activation")
    parser.add_argument("--highlight", help="a dense layer to highlight, e.g. "
                                            "features.denseblock2.denselayer3")
    parser.add_argument("--expand", action="store_true", help="full view: list each layer's ops")
    parser.add_argument("-o", "--output", required=True, help="output file (folder with --all)")
    parser.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    fmt = (args.format or Path(args.output).suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise DenseVisError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if args.chart and fmt == "dot":
        raise DenseVisError("charts export as svg, png, pdf, html or pptx, not dot")
    if not args.chart and fmt == "html":
        raise DenseVisError("diagrams export as svg, png, pdf, dot or pptx; html is for charts")
    return fmt


def _check_choices(args: argparse.Namespace) -> None:
    from densevis.render.theme import get_theme

    get_theme(args.theme)
    if args.view is not None and args.view not in VIEW_NAMES:
        raise DenseVisError(f"unknown view {args.view!r}; use one of {', '.join(VIEW_NAMES)}")
    if args.chart is not None and args.chart not in CHART_NAMES:
        raise DenseVisError(f"unknown chart {args.chart!r}; use one of {', '.join(CHART_NAMES)}")
    if args.direction not in DIRECTIONS:
        raise DenseVisError(f"unknown direction {args.direction!r}; use LR or TB")


def _variants(trace: object, args: argparse.Namespace) -> list:
    """Traces of the same config at the other growth rates (for the comparison charts)."""
    from densevis.cli.common import max_memory_from_args
    from densevis.tracer import trace as trace_model

    config = trace.config  # type: ignore[attr-defined]
    return [trace_model(config.replace(growth_rate=k), device=args.device,
                        max_memory=max_memory_from_args(args))
            for k in GROWTH_RATES if k != config.growth_rate]


def run(args: argparse.Namespace) -> int:
    from densevis.cli.summary import load_trace
    from densevis.render import export

    _check_choices(args)
    if args.all:
        return _run_all(args)
    fmt = _format(args)
    target = export.check_writable(args.output)
    from densevis.render.diagrams import DiagramOptions

    options = DiagramOptions(direction=args.direction, color_by=args.color_by,
                             highlight=args.highlight, theme=args.theme, expand=args.expand)
    result = load_trace(args)
    if args.chart:
        from densevis.render.charts import chart

        extra = _variants(result, args) if args.chart in ("channels", "growth") else None
        figure = chart(result, args.chart, block=args.block, theme=args.theme,
                       extra_traces=extra)
        if fmt == "pptx":
            data = export.deck_bytes(result, [], [(args.chart, figure)], args.theme)
        else:
            data = export.figure_bytes(figure, fmt)
    else:
        from densevis.render.diagrams import diagram

        view = args.view or "overview"
        graph = diagram(result, view, block=args.block, layer=args.layer, options=options)
        if fmt == "pptx":
            data = export.deck_bytes(result, [(view, graph)], [], args.theme)
        else:
            data = export.diagram_bytes(graph, fmt, dpi=args.dpi)
    export.write_atomic(target, data)
    print(f"wrote {target} ({len(data):,} bytes)")
    return 0


def _run_all(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from densevis.cli.summary import load_trace
    from densevis.render import export

    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise DenseVisError(f"--all writes into a folder, but {folder} is a file")
    if not folder.parent.is_dir():
        raise DenseVisError(f"cannot create {folder}: {folder.parent} does not exist")
    result = load_trace(args)
    extra = _variants(result, args)
    before = {path.name for path in folder.iterdir()} if folder.is_dir() else set()
    total = export.expected_file_count(result, extra)
    with Progress(TextColumn("[bold]exporting[/bold]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}")) as progress:
        task = progress.add_task("", total=total)

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=name)

        written = export.export_all(result, folder, extra_traces=extra, progress=advance,
                                    theme=args.theme)
    replaced = sorted(path.name for path in written if path.name in before)
    print(f"wrote {len(written)} files into {folder}")
    if replaced:
        print(f"replaced {len(replaced)} older file(s) of the same names: {', '.join(replaced)}; "
              "no other file was touched")
    return 0
