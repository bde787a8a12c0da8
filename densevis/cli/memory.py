"""`densevis memory`: concatenation memory, naive vs memory-efficient, analytic and measured."""

from __future__ import annotations

import argparse
import json
import sys

from densevis.checks import check_batch_size
from densevis.cli.common import (
    add_model_options,
    check_output,
    config_from_args,
    emit_text,
    load_checkpoint_from_args,
    max_memory_from_args,
)
from densevis.memory import MemoryReport
from densevis.render.registry import THEMES
from densevis.units import format_bytes, format_count

FORMATS = ("table", "json", "csv", "svg", "png", "pdf", "html")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "memory", help="activation memory of the concatenations: naive vs memory-efficient"
    )
    add_model_options(parser)
    parser.add_argument("--checkpoint", help="use the config of this state_dict file")
    parser.add_argument("--batch-size", "-b", type=int, default=8, help="images per step")
    parser.add_argument("--measure", action="store_true",
                        help="also run real training steps both ways (memory and time)")
    parser.add_argument("--repeats", "-r", type=int, default=3, help="timed steps each way")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("-o", "--output", help="output file (required for svg, png, pdf, html)")
    parser.add_argument("--theme", default="light", choices=THEMES, help="chart theme")
    parser.set_defaults(func=run)


def compute(args: argparse.Namespace) -> MemoryReport:
    from densevis.memory import concat_memory
    from densevis.tracer import trace

    check_batch_size(args.batch_size)
    limit = max_memory_from_args(args)
    target = load_checkpoint_from_args(args).model if args.checkpoint else config_from_args(args)
    analytic = concat_memory(trace(target, device=args.device, max_memory=limit),
                             args.batch_size)
    measured = None
    if args.measure:
        from densevis.memory_measure import measure_memory

        measured = measure_memory(target, batch_size=args.batch_size, device=args.device,
                                  repeats=args.repeats, max_memory=limit)
    return MemoryReport(analytic, measured)


def run(args: argparse.Namespace) -> int:
    check_output(args.format, args.output)
    report = compute(args)
    if args.format in ("svg", "png", "pdf", "html"):
        from densevis.render.export import figure_bytes, write_atomic
        from densevis.render.memory_charts import memory_chart

        write_atomic(args.output, figure_bytes(memory_chart(report, theme=args.theme),
                                               args.format))
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    if args.format == "json":
        text = json.dumps(report.to_dict(), indent=2) + "\n"
    elif args.format == "csv":
        frame = report.analytic.to_dataframe()
        text = frame.to_csv(index=False)
    else:
        text = table_text(report)
    return emit_text(text, args.output)


def table_text(report: MemoryReport) -> str:
    """A plain-text summary: per block, then network analytic vs measured."""
    a, m = report.analytic, report.measured
    lines = [f"{a.model}, batch {a.batch_size}, {a.input_size[0]}x{a.input_size[1]}, {a.dtype}",
             "training step = activations kept for backward + parameter gradients "
             f"({format_bytes(a.params_bytes)})", "",
             "bytes, every digit:",
             f"{'block':>6} {'L':>4} {'concat naive':>15} {'train naive':>15} "
             f"{'train effic.':>15} {'infer peak':>15}"]
    for b in a.blocks:
        lines.append(f"{b.block:>6} {b.layers:>4} {format_count(b.concat_naive):>15} "
                     f"{format_count(b.training_naive):>15} "
                     f"{format_count(b.training_efficient):>15} "
                     f"{format_count(b.inference_naive):>15}")
    lines += ["", f"{'network (bytes)':<32} {'analytic':>15} {'measured':>15}"]
    for row in report.rows():
        measured = format_count(row["measured"]) if row["measured"] is not None else "-"
        label = f"{row['quantity']}, {row['mode']}"
        lines.append(f"{label:<32} {format_count(row['analytic']):>15} {measured:>15}")
    if m is not None:
        lines += ["", f"measured on {m.device} ({m.method}); training step "
                      f"{m.training_naive_seconds * 1000:.0f} ms naive, "
                      f"{m.training_efficient_seconds * 1000:.0f} ms memory-efficient "
                      f"({m.recompute_overhead:+.0%} for recomputation), median of {m.repeats}"]
    return "\n".join(lines) + "\n"
