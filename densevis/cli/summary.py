"""`densevis summary`: the traced network as a terminal table, JSON, CSV or Markdown."""

from __future__ import annotations

import argparse
from typing import Any

from densevis.cli.common import (
    add_model_options,
    add_module_options,
    check_output,
    config_from_args,
    emit_text,
    load_checkpoint_from_args,
    max_memory_from_args,
    module_spec_from_args,
    rich_text,
)
from densevis.records import Trace
from densevis.units import format_bytes, format_count, format_si


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("summary", help="trace a model and print its layers")
    add_model_options(parser)
    add_module_options(parser)
    parser.add_argument("--checkpoint", help="trace a model loaded from this state_dict file")
    parser.add_argument("--format", choices=("table", "json", "csv", "markdown"), default="table")
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    parser.set_defaults(func=run)


def load_trace(args: argparse.Namespace) -> Trace:
    """Trace the model the options describe, the one in --checkpoint, or --module's."""
    from densevis.tracer import trace

    spec = module_spec_from_args(args)
    if spec is not None:
        from densevis.usermodule import trace_module_spec

        return trace_module_spec(spec, args.device)
    if getattr(args, "checkpoint", None):
        model = load_checkpoint_from_args(args).model
        return trace(model, input_size=args.input_size, max_memory=max_memory_from_args(args))
    config = config_from_args(args)
    return trace(config, device=args.device, max_memory=max_memory_from_args(args))


def run(args: argparse.Namespace) -> int:
    check_output(args.format, args.output)
    result = load_trace(args)
    if args.format == "table":
        if not args.output:
            print_table(result)
            return 0
        text = rich_text(lambda console: print_table(result, console))
    elif args.format == "json":
        text = result.to_json() + "\n"
    else:
        from densevis.render.tables import layer_table, table_text

        text = table_text(layer_table(result), args.format)
    return emit_text(text, args.output)


def print_table(result: Trace, console: object | None = None) -> None:
    """Headline numbers, the per-block table and the per-layer table, aligned for a terminal."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    if not isinstance(console, Console):
        console = Console()
        if not console.is_terminal:  # piped or redirected: don't squeeze into 80 columns
            console = Console(width=150)
    out = console
    totals, counts = result.totals, result.counts()
    convs = ", ".join(f"{n} {kernel}" for kernel, n in counts["conv"].items())
    custom = " (custom module)" if result.is_custom else ""
    out.print(f"[bold]{result.model}[/bold]{custom} on {result.device}, input "
              f"{'x'.join(map(str, result.image_shape))}, batch {result.batch_size}")
    out.print(f"parameters {format_count(totals.params)} | MACs {format_si(totals.macs)} "
              f"(conv + linear) | FLOPs {format_si(totals.flops)} (flop_counter: 2 per MAC) | "
              f"activations {format_bytes(totals.activation_bytes)} | depth {totals.depth}")
    out.print(f"convolutions: {convs}; avg pools {counts['avgpool']}, max pools "
              f"{counts['maxpool']}, linear {counts['linear']}, concatenations {counts['concat']}")
    blocks = Table(title="Dense blocks", title_justify="left")
    for column in ("block", "L", "k0", "k", "links", "channels", "size"):
        blocks.add_column(column, justify="right")
    for block in result.blocks:
        blocks.add_row(str(block.index), str(block.dense_layers), str(block.k0),
                       str(block.growth_rate), str(block.links),
                       f"{block.in_channels} -> {block.out_channels}",
                       f"{block.height}x{block.width}")
    out.print(blocks if result.blocks else "no dense blocks found")
    if result.is_custom:
        _print_stages_and_edges(result, out)
    layers = Table(title="Layers", title_justify="left", box=box.SIMPLE_HEAD)
    for column, justify in (("#", "right"), ("layer", "left"), ("kind", "left"),
                            ("in", "right"), ("out", "right"), ("kernel", "right"),
                            ("output", "right"), ("params", "right"), ("MACs", "right"),
                            ("activations (B)", "right")):
        layers.add_column(column, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for layer in result.ops:
        kernel = f"{layer.kernel[0]}x{layer.kernel[1]}/{layer.stride[0]}" if layer.kernel and \
            layer.stride else ""
        layers.add_row(str(layer.index), layer.short_name, layer.kind, str(layer.in_channels),
                       str(layer.out_channels), kernel,
                       "x".join(str(v) for v in layer.output_shape[1:]),
                       format_count(layer.params), format_count(layer.macs),
                       format_count(layer.activation_bytes))
    out.print(layers)


def _print_stages_and_edges(result: Trace, out: Any) -> None:
    """A custom module's stages as traced, and its skip and residual links."""
    from rich.table import Table

    stages = Table(title="Stages", title_justify="left")
    for column in ("stage", "ops", "channels", "output", "params", "MACs"):
        stages.add_column(column, justify="left" if column == "stage" else "right")
    for stage in result.stages():
        stages.add_row(stage.title, str(stage.ops), f"{stage.in_channels} -> "
                       f"{stage.out_channels}", "x".join(map(str, stage.output_shape[1:])),
                       format_count(stage.params), format_count(stage.macs))
    out.print(stages)
    if not result.edges:
        return
    edges = Table(title="Skip and residual links (not dense links)", title_justify="left")
    for column in ("kind", "from", "to"):
        edges.add_column(column)
    for edge in result.edges:
        edges.add_row(edge.kind, result.edge_name(edge.source), result.edge_name(edge.target))
    out.print(edges)
