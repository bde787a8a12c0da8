"""`densevis heatmap`: the feature-reuse heat map (DenseNet paper, Figure 5) of a checkpoint."""

from __future__ import annotations

import argparse
import sys

from densevis.cli.common import (
    add_model_options,
    check_output,
    config_from_args,
    emit_text,
    load_checkpoint_from_args,
    max_memory_from_args,
)
from densevis.render.registry import THEMES
from densevis.reuse import FeatureReuse

FORMATS = ("json", "csv", "svg", "png", "pdf", "html")
RANDOM_NOTE = ("note: no --checkpoint, so these are random initial weights: the heat map is "
               "near-uniform along each column and shows no learned feature reuse")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "heatmap", help="feature-reuse heat map of a checkpoint's weights (paper Figure 5)"
    )
    add_model_options(parser)
    parser.add_argument("--checkpoint", help="state_dict file (.pth, .pt or .safetensors)")
    parser.add_argument("--block", type=int, help="one dense block (default: all blocks)")
    parser.add_argument("--format", choices=FORMATS, default="json")
    parser.add_argument("-o", "--output", help="output file (required for svg, png, pdf, html)")
    parser.add_argument("--normalize", choices=("none", "column"),
                        help="chart colours: raw mean |W|, or each column / its max "
                             "(default: none for one block, column for all blocks)")
    parser.add_argument("--theme", default="light", choices=THEMES, help="chart theme")
    parser.set_defaults(func=run)


def compute(args: argparse.Namespace) -> FeatureReuse:
    """The heat map of --checkpoint, or of a randomly initialised model from the options."""
    from densevis.reuse_measure import feature_reuse

    if args.checkpoint:
        args.device = "cpu"
        return feature_reuse(load_checkpoint_from_args(args))
    from densevis.model import build_model

    print(RANDOM_NOTE, file=sys.stderr)
    return feature_reuse(build_model(config_from_args(args), device="cpu",
                                     max_memory=max_memory_from_args(args)))


def run(args: argparse.Namespace) -> int:
    check_output(args.format, args.output)
    reuse = compute(args)
    if args.block is not None:
        reuse.block(args.block)  # a clear error for a block that does not exist
    if args.format == "json":
        if args.block is not None:
            data = reuse.to_dict()
            data["blocks"] = [reuse.block(args.block).to_dict()]
            import json

            text = json.dumps(data, indent=2) + "\n"
        else:
            text = reuse.to_json() + "\n"
        return emit_text(text, args.output)
    if args.format == "csv":
        if args.block is not None:
            text = reuse.block(args.block).to_matrix().to_csv(float_format="%.6g")
        else:
            text = reuse.to_dataframe().to_csv(index=False, float_format="%.6g")
        return emit_text(text, args.output)
    from densevis.render.export import figure_bytes, write_atomic
    from densevis.render.reuse_charts import reuse_heatmap_chart, reuse_heatmaps_chart

    if args.block is not None:
        figure = reuse_heatmap_chart(reuse, args.block, theme=args.theme,
                                     normalize=args.normalize or "none")
    else:
        figure = reuse_heatmaps_chart(reuse, theme=args.theme,
                                      normalize=args.normalize or "column")
    write_atomic(args.output, figure_bytes(figure, args.format))
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
