"""The `densevis` command line. Each subcommand lives in its own module with a
``register(subparsers)`` function that sets ``func`` on its parser."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from densevis.errors import DenseVisError

# Subcommand modules, in the order `densevis --help` lists them.
SUBCOMMANDS = ("summary", "export", "profile", "heatmap", "memory", "app")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: what is wrong and where the options are listed, not
    the whole usage block (subcommand parsers are made of this class too)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="densevis", description="See inside DenseNet: build, trace, measure and draw it."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"densevis.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"densevis.cli.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: bad input is one line on stderr and exit code 2, never a traceback."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "passthrough", False):
        Parser(prog=f"densevis {args.command}").error(
            f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return int(args.func(args) or 0)
    except DenseVisError as error:
        print(f"densevis: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # unwritable output, missing input file...
        print(f"densevis: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("densevis: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
