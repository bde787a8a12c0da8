"""Start the Streamlit app in this process, with torch and the drawing code imported in the
background while the server starts (used by `densevis app`)."""

from __future__ import annotations

import importlib
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

PRELOAD = ("densevis.tracer", "densevis.render.diagrams", "densevis.render.charts",
           "densevis.render.tables", "densevis.facts", "densevis.app.overview")
ENTRY = Path(__file__).resolve().parent / "main.py"
MODULE_ENV = "DENSEVIS_MODULE"  # `densevis app --module ...` hands its ModuleSpec (JSON) over
UPLOAD_LIMIT_MB = 512  # the one upload limit: server option, uploader label and check
# The app's Streamlit settings; the repository's .streamlit/config.toml holds the same for a
# plain `streamlit run app.py` (a test keeps the two equal). Options given to `densevis app`
# come after these, so they win.
OPTIONS = {
    "server.headless": "true",
    "server.maxUploadSize": str(UPLOAD_LIMIT_MB),
    # No rerun-on-save watcher: a served app does not need it, and in a checkout its
    # recursive watch walks .venv again and again ("Inotify queue overflowed"), which cost
    # `streamlit run app.py` ~2 s of its first page. Developers: --server.fileWatcherType auto
    "server.fileWatcherType": "none",
    "browser.gatherUsageStats": "false",
    "client.showErrorDetails": "none",
    "client.toolbarMode": "minimal",
    # Streamlit runs a full gc.collect() after every script run by default. Its cost grows
    # with every object the server keeps (the cached traces: ~170 ms with 67 of them), it
    # holds the GIL throughout, and it took a third of the server's CPU under load. Records
    # hold no reference cycles, so reference counting frees them; Python's own GC still runs.
    "runner.postScriptGC": "false",
}


WORKERS_AFTER_S = 3.0  # after the preload: a first visitor's first page goes first


def _preload() -> None:
    for module in PRELOAD:
        importlib.import_module(module)
    # The tracing workers (two processes importing torch, ~3.5 CPU-s) start a little later,
    # warm before people arrive in numbers; overlapping traces start them sooner.
    time.sleep(WORKERS_AFTER_S)
    from densevis.app import workers

    workers.start()


def streamlit_argv(options: Sequence[str] = ()) -> list[str]:
    """`streamlit run` arguments for the packaged entry script, the user's options last."""
    argv = ["run", str(ENTRY)]
    for name, value in OPTIONS.items():
        argv += [f"--{name}", value]
    return argv + list(options)


def serve(options: Sequence[str] = ()) -> None:
    """Run the packaged app like `streamlit run`; the first page finds torch already imported."""
    threading.Thread(target=_preload, name="densevis-preload", daemon=True).start()
    from streamlit.web import cli as streamlit_cli  # after the thread: it gets a head start

    streamlit_cli.main(args=streamlit_argv(options), prog_name="streamlit",
                       standalone_mode=True)


def free_port() -> int:
    """A loopback port nothing listens on (for tests and benchmarks that start a server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 90) -> bool:
    """True once the Streamlit server at ``url`` answers its health check; False when its
    process exited or ``seconds`` passed first."""
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.read() == b"ok":
                    return True
        except OSError:
            time.sleep(0.3)
    return False
