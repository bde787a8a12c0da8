"""`densevis app`: start the browser app. The app lives beside the package (app.py and
app_pages/), so this only finds it and hands over to its launcher; the library itself never
imports streamlit."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from densevis.errors import DenseVisError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("app", help="start the browser app (with torch preloaded)")
    parser.add_argument("--port", type=int, default=8501, help="port to serve on (8501)")
    parser.add_argument("--address", default=None, help="address to bind, e.g. 127.0.0.1")
    parser.set_defaults(func=run)


def app_script() -> Path:
    """app.py of the checkout this package runs from."""
    script = Path(__file__).resolve().parents[2] / "app.py"
    if not script.is_file():
        raise DenseVisError(f"no app.py at {script}: run `densevis app` from an editable "
                            "install of the densevis repository, or `streamlit run app.py`")
    return script


def run(args: argparse.Namespace) -> int:
    root = str(app_script().parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    importlib.import_module("app_pages.launch").serve(args.port, args.address)
    return 0
