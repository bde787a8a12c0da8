"""`densevis profile`: measured per-layer latency, and optionally throughput and a roofline."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from densevis.cli.common import (
    add_model_options,
    add_module_options,
    check_output,
    config_from_args,
    emit_text,
    max_memory_from_args,
    module_spec_from_args,
    rich_text,
)
from densevis.errors import DenseVisError
from densevis.render.registry import THEMES
from densevis.timing import DevicePeak, Profile, RooflinePoint, ThroughputPoint


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="measure per-layer latency (median and IQR), throughput and roofline"
    )
    add_model_options(parser)
    add_module_options(parser)
    parser.add_argument("--checkpoint", help="with --module: load this state_dict into it")
    group = parser.add_argument_group("measurement")
    group.add_argument("--batch-size", "-b", type=int, default=1, help="images per pass")
    group.add_argument("--warmup", type=int, default=3, help="passes run first and discarded")
    group.add_argument("--repeats", "-r", type=int, default=10, help="timed passes")
    group.add_argument("--time-budget", type=float, default=10.0,
                       help="seconds of extra rounds allowed while the timings are noisy "
                            "(0: never extend; default 10)")
    group.add_argument("--threads", type=int,
                       help="torch intra-op threads (default: torch's own choice)")
    group.add_argument("--throughput", action="store_true",
                       help="also measure images/s against batch size 1, 2, 4, ...")
    group.add_argument("--batch-sizes", help="throughput batch sizes, e.g. 1,8,32")
    group.add_argument("--max-batch", type=int,
                       help="largest default throughput batch (32 on CPU, 256 elsewhere)")
    group.add_argument("--roofline", action="store_true",
                       help="also measure the device peak and place every op on a roofline")
    parser.add_argument("--format", choices=("table", "json", "csv"), default="table")
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    parser.add_argument("--chart", help="write the plotly charts to this HTML file")
    parser.add_argument("--theme", default="light", choices=THEMES, help="chart theme")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)


def _parse_sizes(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.replace(" ", ",").split(",") if part.strip()]
    except ValueError:
        raise DenseVisError(
            f"batch sizes must be whole numbers separated by commas, like 1,8,32; got {text!r}"
        ) from None


def _check_args(args: argparse.Namespace) -> None:
    """Refuse bad counts before anything is built."""
    from densevis.checks import check_batch_size, check_count
    from densevis.profiler import check_threads, check_time_budget

    check_batch_size(args.batch_size)
    check_count("repeats", args.repeats)
    check_count("warm-up runs", args.warmup, 0)
    check_threads(args.threads)
    check_time_budget(args.time_budget)


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str], Callable[[int, int], None]]]:
    """A rich progress bar on stderr; yields a factory of per-stage callbacks."""
    if not enabled:
        yield lambda description: (lambda done, total: None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:

        def stage(description: str) -> Callable[[int, int], None]:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return update

        yield stage


def run(args: argparse.Namespace) -> int:
    _check_args(args)
    check_output(args.format, args.output)
    if args.chart:
        check_output("html", args.chart)
    sizes = _parse_sizes(args.batch_sizes)
    from densevis.devices import resolve_device
    from densevis.profiler import measure_peak, measure_throughput, profile_latency, roofline
    from densevis.tracer import trace

    max_memory = max_memory_from_args(args)
    device = resolve_device(args.device)
    model, size = _model_from_args(args, max_memory)
    throughput: list[ThroughputPoint] | None = None
    points: list[RooflinePoint] | None = None
    peak: DevicePeak | None = None
    with _progress(not args.no_progress) as stage:
        result = profile_latency(model, batch_size=args.batch_size, warmup=args.warmup,
                                 repeats=args.repeats, threads=args.threads,
                                 max_memory=max_memory, progress=stage("profiling layers"),
                                 input_size=size, time_budget_s=args.time_budget)
        if args.throughput or sizes is not None:
            throughput = measure_throughput(model, batch_sizes=sizes, max_memory=max_memory,
                                            max_batch=args.max_batch, threads=args.threads,
                                            progress=stage("throughput"))
        if args.roofline:
            stage("device peak")(0, 1)
            peak = measure_peak(device)
            records = trace(model, input_size=size, batch_size=args.batch_size,
                            max_memory=max_memory)
            points = roofline(records, result)
    _warn_noise(result, throughput)
    if args.chart:
        _write_charts(args.chart, args.theme, result, throughput, points, peak)
    _emit(args, result, throughput, points, peak)
    return 0


def _warn_noise(result: Profile, throughput: list[ThroughputPoint] | None) -> None:
    """One warning line on stderr per measurement that cannot be trusted."""
    if result.verdict != "stable":
        print(f"densevis: warning: per-layer timings are {result.verdict_text}", file=sys.stderr)
    noisy = [point for point in throughput or [] if point.noisy]
    if noisy:
        shown = ", ".join(f"batch {p.batch_size} ({p.spread:.0%})" for p in noisy)
        print(f"densevis: warning: throughput is noisy at {shown} (IQR / median of the pass "
              "times); rerun on a quieter machine or with more --repeats", file=sys.stderr)


def _model_from_args(args: argparse.Namespace, max_memory: int | None) -> tuple[Any, Any]:
    """The model to time (a DenseNet from the options, or --module's) and its input size."""
    from densevis.devices import resolve_device
    from densevis.memory_cap import check_memory
    from densevis.model import build_model

    spec = module_spec_from_args(args)
    if spec is not None:
        from densevis.usermodule import load_module, parse_module_input_size

        if args.throughput or args.batch_sizes:
            raise DenseVisError("--throughput needs a DenseNet config (its memory estimate "
                                "picks the batch sizes); --module has none")
        return load_module(spec, args.device), parse_module_input_size(args.input_size)
    if getattr(args, "checkpoint", None):
        raise DenseVisError("profile --checkpoint works with --module; for a DenseNet "
                            "checkpoint give its config options")
    config = config_from_args(args)
    device = resolve_device(args.device)
    check_memory(config, max_memory, args.batch_size, device=device)
    return build_model(config, device, max_memory=max_memory), None


def _write_charts(path: str, theme: str, result: Profile, throughput: list[ThroughputPoint] |
                  None, points: list[RooflinePoint] | None, peak: DevicePeak | None) -> None:
    from densevis.render.export import write_atomic
    from densevis.render.perf_charts import latency_chart, roofline_chart, throughput_chart

    figures = [latency_chart(result, theme)]
    if throughput:
        figures.append(throughput_chart(throughput, theme))
    if points is not None and peak is not None:
        figures.append(roofline_chart(points, peak, theme))
    parts = [figure.to_html(full_html=False, include_plotlyjs="cdn" if i == 0 else False)
             for i, figure in enumerate(figures)]
    page = ("<html><head><meta charset='utf-8'></head><body>\n" + "\n".join(parts)
            + "\n</body></html>\n")
    write_atomic(path, page.encode("utf-8"))


def _emit(args: argparse.Namespace, result: Profile, throughput: list[ThroughputPoint] | None,
          points: list[RooflinePoint] | None, peak: DevicePeak | None) -> None:
    if args.format == "table":
        if not args.output:
            print_tables(result, throughput, points, peak)
            return
        text = rich_text(lambda console: print_tables(result, throughput, points, peak, console))
    elif args.format == "json":
        data: dict[str, Any] = result.to_dict()
        if throughput is not None:
            data["throughput"] = [vars(point) for point in throughput]
        if points is not None and peak is not None:
            data["peak"] = vars(peak)
            data["roofline"] = [vars(point) for point in points]
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = result.to_dataframe().to_csv(index=False)
    emit_text(text, args.output)


def print_tables(result: Profile, throughput: list[ThroughputPoint] | None = None,
                 points: list[RooflinePoint] | None = None, peak: DevicePeak | None = None,
                 console: Any = None) -> None:
    """The per-layer latency table (plus throughput and roofline tables when measured)."""
    from rich.console import Console
    from rich.table import Table

    if isinstance(console, Console):
        out = console
    else:  # a pipe or file gets room for every column instead of rich's 80
        out = Console() if sys.stdout.isatty() else Console(width=150)
    out.print(f"[bold]{result.model}[/bold] on {result.device} ({result.timer}), "
              f"{result.threads} threads, batch {result.batch_size}, input "
              f"{result.input_size[0]}x{result.input_size[1]}, warm-up {result.warmup}, "
              f"median of {result.repeats} passes")
    out.print(f"verdict: {result.verdict_text}")
    out.print(f"end-to-end: {result.plain_total_ms:.3f} ms without hooks, "
              f"{result.hooked_total_ms:.3f} ms with hooks (overhead "
              f"{100 * result.overhead:+.1f}%); per-layer sum {result.op_sum_ms:.3f} ms + "
              f"unattributed {result.unattributed_ms:.3f} ms = hooked total (time between hooked "
              f"ops per pass: {result.pass_residual_ms:.3f} ms)")
    by_name = {point.name: point for point in points or []}
    table = Table(title="Layer latency", title_justify="left")
    columns = [("#", "right"), ("layer", "left"), ("kind", "left"), ("block", "right"),
               ("median ms", "right"), ("IQR ms", "right"), ("share", "right")]
    if points is not None:
        columns += [("GFLOP/s", "right"), ("FLOP/B", "right"), ("bound", "left")]
    for column, justify in columns:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for index, row in enumerate(result.rows()):
        cells = [str(index) if row["kind"] != "unattributed" else "",
                 row["name"].removeprefix("features."), row["kind"],
                 "" if row["block"] is None else str(row["block"]),
                 f"{row['median_ms']:.3f}", f"{row['q1_ms']:.3f}-{row['q3_ms']:.3f}",
                 f"{100 * row['share']:.1f}%"]
        if points is not None and peak is not None:
            point = by_name.get(row["name"])
            cells += ["", "", ""] if point is None else [
                f"{point.gflops_per_s:.2f}", f"{point.intensity:.2f}",
                peak.bound(point.intensity)]
        table.add_row(*cells)
    table.add_row("", "[bold]total (hooked)[/bold]", "", "", f"{result.hooked_total_ms:.3f}",
                  "", "100.0%", *([""] * (len(columns) - 7)))
    out.print(table)
    if throughput:
        rates = Table(title="Throughput", title_justify="left")
        for column in ("batch", "images/s", "ms/batch"):
            rates.add_column(column, justify="right")
        for point in throughput:
            rates.add_row(str(point.batch_size), f"{point.images_per_s:.1f}",
                          f"{point.ms_per_batch:.2f}")
        out.print(rates)
    if peak is not None:
        out.print(f"device peak on {peak.device}: {peak.gflops_per_s:.1f} GFLOP/s (float32 "
                  f"matmul), {peak.bandwidth_gb_s:.1f} GB/s (copy); ridge at "
                  f"{peak.ridge:.2f} FLOP/byte")
