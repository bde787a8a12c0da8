"""`densevis app`: start the Streamlit app with torch and the drawing code already imported,
so the first page a person opens does not wait for them (importing torch takes about a
second; `streamlit run app.py` works too, it only starts colder)."""

from __future__ import annotations

import argparse
import importlib
import os
import threading
from pathlib import Path

from densevis.errors import DenseVisError

PRELOAD = ("densevis.tracer", "densevis.render.diagrams", "densevis.render.charts",
           "densevis.render.tables", "densevis.facts")


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


def _preload() -> None:
    for module in PRELOAD:
        importlib.import_module(module)


def run(args: argparse.Namespace) -> int:
    script = app_script()
    # Import torch and the drawing code while the server starts and the browser loads the
    # page shell; the first script run then finds them in sys.modules.
    threading.Thread(target=_preload, name="densevis-preload", daemon=True).start()
    from streamlit.web import cli as streamlit_cli

    os.chdir(script.parent)  # .streamlit/config.toml lives beside app.py
    argv = ["run", str(script), "--server.port", str(args.port)]
    if args.address:
        argv += ["--server.address", args.address]
    streamlit_cli.main(args=argv, prog_name="streamlit", standalone_mode=True)
    return 0
