"""Options shared by every subcommand: which model, and where."""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from densevis.config import DEFAULT_PRESET, DenseNetConfig, get_config
from densevis.spec import parse_blocks, parse_bytes, parse_input_size

if TYPE_CHECKING:
    from densevis.weights import LoadedCheckpoint


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model and the custom-config overrides, --device and --max-memory."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", help="preset: densenet121 (default), densenet169/201/161/264, "
                                        "densenet-bc-100")
    group.add_argument("--growth-rate", "-k", type=int, help="growth rate k")
    group.add_argument("--blocks", help="layers per dense block, e.g. 6,12,24,16")
    group.add_argument("--init-features", type=int, help="channels out of the stem")
    group.add_argument("--bn-size", type=int, help="bottleneck width factor (0 = none)")
    group.add_argument("--compression", type=float, help="transition compression theta in (0, 1]")
    group.add_argument("--drop-rate", type=float, help="dropout after each dense layer")
    group.add_argument("--input-size", help="224 or HxW, e.g. 224x192")
    group.add_argument("--num-classes", type=int, help="classifier outputs")
    group.add_argument("--stem", choices=("imagenet", "cifar"), help="stem type")
    group.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    group.add_argument("--max-memory",
                       help="refuse configs needing more than this (e.g. 8G); "
                            "default: half the free memory")


def add_module_options(parser: argparse.ArgumentParser) -> None:
    """--module and --module-args: trace your own nn.Module instead of a DenseNet config."""
    group = parser.add_argument_group("your own module (instead of --model)")
    group.add_argument("--module", metavar="FILE.py:FACTORY",
                       help="FILE.py:FACTORY or package.module:FACTORY: a function or class "
                            "returning an nn.Module, or a module instance")
    group.add_argument("--module-args", metavar="JSON",
                       help="the factory's keyword arguments as JSON, e.g. '{\"depth\": 40}'")


# Options that describe a DenseNet config (argparse names), which --module or a checkpoint
# already decides.
MODEL_OPTIONS = ("model", "growth_rate", "blocks", "init_features", "bn_size", "compression",
                 "drop_rate", "num_classes", "stem")


def model_options_given(args: argparse.Namespace) -> list[str]:
    """The DenseNet config flags the user gave, e.g. ["--model", "--blocks"]."""
    return [f"--{name.replace('_', '-')}" for name in MODEL_OPTIONS
            if getattr(args, name, None) is not None]


def module_spec_from_args(args: argparse.Namespace) -> Any:
    """The ModuleSpec of --module (None without it); DenseNet config options are refused."""
    if not getattr(args, "module", None):
        if getattr(args, "module_args", None):
            from densevis.errors import DenseVisError

            raise DenseVisError("--module-args needs --module")
        return None
    from densevis.errors import DenseVisError
    from densevis.usermodule import ModuleSpec

    given = model_options_given(args)
    if given:
        raise DenseVisError(f"{', '.join(given)}: DenseNet config options do not apply to "
                            "--module")
    return ModuleSpec(args.module, args.module_args or "",
                      getattr(args, "checkpoint", None) or "", args.input_size or "")


def config_from_args(args: argparse.Namespace) -> DenseNetConfig:
    """The config the model options describe (validated)."""
    return get_config(
        args.model or DEFAULT_PRESET,
        growth_rate=args.growth_rate,
        block_config=parse_blocks(args.blocks) if args.blocks is not None else None,
        num_init_features=args.init_features,
        bn_size=args.bn_size,
        compression=args.compression,
        drop_rate=args.drop_rate,
        input_size=parse_input_size(args.input_size) if args.input_size is not None else None,
        num_classes=args.num_classes,
        stem=args.stem,
    )


def max_memory_from_args(args: argparse.Namespace) -> int | None:
    return parse_bytes(args.max_memory) if args.max_memory is not None else None


def load_checkpoint_from_args(args: argparse.Namespace) -> LoadedCheckpoint:
    """The model in --checkpoint, under --max-memory; model flags alongside it are refused
    (the file decides the model), and NaN or infinite weights are warned about on stderr."""
    from densevis.errors import DenseVisError
    from densevis.weights import load_checkpoint

    given = model_options_given(args)
    if given:
        raise DenseVisError(
            f"--checkpoint decides the model, so {', '.join(given)} cannot be used with it; "
            "drop them (or drop --checkpoint to build the model they describe)"
        )
    loaded = load_checkpoint(args.checkpoint, device=args.device,
                             max_memory=max_memory_from_args(args))
    if loaded.warning:
        print(f"densevis: warning: {loaded.warning}", file=sys.stderr)
    return loaded


FIGURE_FORMATS = ("svg", "png", "pdf", "html")


def check_output(fmt: str, output: str | None) -> None:
    """Before any work: a figure format needs -o, and the output must be writable."""
    from densevis.errors import DenseVisError

    if fmt in FIGURE_FORMATS and not output:
        raise DenseVisError(f"--format {fmt} needs an output file: -o FILE")
    if output:
        from densevis.render.export import check_writable

        check_writable(output)


def rich_text(draw: Callable[[Any], None], width: int = 140) -> str:
    """What ``draw(console)`` prints, as plain text (for writing tables to a file)."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width)
    draw(console)
    return console.file.getvalue()  # type: ignore[attr-defined]


def emit_text(text: str, output: str | None) -> int:
    """Text to the output file (written whole, or not at all) or to stdout."""
    if output:
        from densevis.render.export import write_atomic

        write_atomic(output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return 0
