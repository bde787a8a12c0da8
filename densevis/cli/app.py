"""`densevis app`: start the browser app packaged in densevis/app (the only part of densevis
that imports streamlit). Streamlit's own options pass through: `--server.port 8611`."""

from __future__ import annotations

import argparse
import importlib

from densevis.cli.common import add_module_options, module_spec_from_args
from densevis.errors import DenseVisError


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {port}")
    return port


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "app", help="start the browser app (with torch preloaded)",
        description="Start the browser app. Any Streamlit option passes through, e.g. "
                    "`densevis app --server.port 8611 --server.headless true`.")
    parser.add_argument("--port", type=_port, help="port to serve on (default 8501)")
    parser.add_argument("--address", help="address to bind, e.g. 127.0.0.1")
    add_module_options(parser)
    parser.add_argument("--checkpoint", help="with --module: load this state_dict into it")
    parser.add_argument("--input-size", help="with --module: 32, 32x48 or 3x32x48")
    parser.set_defaults(func=run, passthrough=True)


def _pairs(extra: list[str]) -> list[tuple[str, str]]:
    """`--section.option value` or `--section.option=value` items as (name, value) pairs."""
    pairs, items = [], iter(extra)
    for item in items:
        name, _, value = item.removeprefix("--").partition("=")
        if not item.startswith("--") or "." not in name:
            raise DenseVisError(f"unknown option {item!r}: Streamlit's options look like "
                                "--server.port 8611")
        pairs.append((name, value if "=" in item else next(items, "")))
    return pairs


def streamlit_options(args: argparse.Namespace) -> list[str]:
    """Streamlit's options from --port, --address and those passed through (which win)."""
    pairs = [("server.port", str(args.port))] if args.port is not None else []
    pairs += [("server.address", args.address)] if args.address else []
    pairs += _pairs(list(getattr(args, "extra", [])))
    for name, value in pairs:
        if name == "server.port":
            try:
                _port(value)
            except argparse.ArgumentTypeError as problem:
                raise DenseVisError(str(problem)) from None
    return [part for name, value in pairs for part in (f"--{name}", value)]


def run(args: argparse.Namespace) -> int:
    options = streamlit_options(args)
    # the server's settings from the environment: refused here, before serving
    importlib.import_module("densevis.app.budget")  # DENSEVIS_MEMORY_BUDGET
    importlib.import_module("densevis.app.workers").worker_count()  # DENSEVIS_TRACE_WORKERS
    spec = module_spec_from_args(args)
    if spec is not None:  # open the app on this module; refuse bad input before serving
        import os

        from densevis.app.launch import MODULE_ENV
        from densevis.usermodule import trace_module_spec

        trace_module_spec(spec, "cpu")
        os.environ[MODULE_ENV] = spec.to_json()
    importlib.import_module("densevis.app.launch").serve(options)
    return 0
