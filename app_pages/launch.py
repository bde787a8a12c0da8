"""Start the Streamlit app in this process, with torch and the drawing code imported in the
background while the server starts (used by `densevis app`)."""

from __future__ import annotations

import importlib
import os
import threading
from pathlib import Path

PRELOAD = ("densevis.tracer", "densevis.render.diagrams", "densevis.render.charts",
           "densevis.render.tables", "densevis.facts", "pandas.io.formats.style",
           "app_pages.overview")
APP = Path(__file__).resolve().parents[1] / "app.py"


def _preload() -> None:
    for module in PRELOAD:
        importlib.import_module(module)


def serve(port: int = 8501, address: str | None = None) -> None:
    """Run app.py like `streamlit run app.py`; the first page finds torch already imported."""
    threading.Thread(target=_preload, name="densevis-preload", daemon=True).start()
    from streamlit.web import cli as streamlit_cli  # after the thread: it gets a head start

    os.chdir(APP.parent)  # .streamlit/config.toml lives beside app.py
    argv = ["run", str(APP), "--server.port", str(port)]
    if address:
        argv += ["--server.address", address]
    streamlit_cli.main(args=argv, prog_name="streamlit", standalone_mode=True)
