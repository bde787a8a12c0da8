"""Tracing DenseNet configs in worker processes, so traces run on every core.

A trace is mostly Python (building the module, hooks on ~500 ops), so traces in the server's
own threads share one GIL with each other and with every session's page run: under load the
server used about 1.2 of 2 cores. Worker processes each have their own interpreter. The
server keeps the cache, the memory budget and the make-once rule (``traces.trace_of``);
workers only turn a config into a Trace. Spawned, not forked: the server has threads
(Streamlit's, torch's) that a fork would copy mid-flight. A spawned process first imports the
parent's ``__main__``, which Streamlit sets to the script it last ran: so the app's scripts
(app.py, densevis/app/*.py) only act under ``if __name__ == "__main__"``.

``DENSEVIS_TRACE_WORKERS`` sets how many (default: the machine's cores, at most 4); 0 traces
in the server process, as custom modules, non-CPU devices and configs with more than
MOST_LINKS dense links always are. `densevis app` starts the workers 3 s after its own
preload; before that (and under a plain `streamlit run`), the first overlap of two traces
starts them. Until they have started, traces run in the server.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from densevis.config import DenseNetConfig
from densevis.errors import DenseVisError
from densevis.records import Trace

WORKERS_ENV = "DENSEVIS_TRACE_WORKERS"
MAX_WORKERS = 4  # each worker holds torch (~250 MiB); more than 4 traces at once is rare
TASKS_PER_WORKER = 200  # then a fresh process, in case anything builds up
# Records cross between processes pickled: ~2 us a dense link each way. A block of 1000
# layers (500,500 links) took 4.8 s through a worker against 2.5 s in the server process.
MOST_LINKS = 50_000
PARENT_CHECK_S = 1.0  # how often a worker checks that the server still runs


def worker_count() -> int:
    """Worker processes to trace in (0: trace in the server process)."""
    text = os.environ.get(WORKERS_ENV)
    if text is None:
        return min(os.cpu_count() or 1, MAX_WORKERS)
    if not text.strip().isdigit() or int(text) > 64:
        raise DenseVisError(f"{WORKERS_ENV} must be a whole number from 0 to 64 (0: trace in "
                            f"the server process), got {text!r}")
    return int(text)


_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_warming: dict[ProcessPoolExecutor, list[Future[None]]] = {}  # each pool's start-up tasks


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(worker_count(), multiprocessing.get_context("spawn"),
                                        initializer=_ready, max_tasks_per_child=TASKS_PER_WORKER)
        return _pool


def _ready() -> None:
    """A worker's start: import torch and the tracer before the first config arrives, and
    leave with the server, even one killed outright (no shutdown reaches the workers then)."""
    import densevis.tracer  # noqa: F401

    server = os.getppid()
    threading.Thread(target=_exit_without, args=(server,), daemon=True).start()


def _exit_without(server: int) -> None:
    while os.getppid() == server:  # an orphan is handed to another parent
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _trace(config: DenseNetConfig) -> Trace:
    from densevis.tracer import trace

    try:
        return trace(config, device="cpu")
    finally:
        _release_freed_memory()


def _release_freed_memory() -> None:
    """Give back to the system what the allocator kept of the module just built and freed
    (glibc keeps it for reuse: a worker stayed at ~450 MiB after big configs)."""
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None).malloc_trim(0)


def start() -> None:
    """Start the workers in the background, once. Traces run in the server meanwhile: the
    workers' start (two processes importing torch, ~3.5 CPU-s) never delays a page."""
    if not worker_count():
        return
    pool = _executor()
    with _lock:
        if pool not in _warming:
            _warming[pool] = [pool.submit(_ready) for _ in range(worker_count())]


def _warm() -> bool:
    """Whether the workers have started (a broken pool counts: its next trace says so)."""
    with _lock:
        warming = _warming.get(_pool) if _pool is not None else None
    return warming is not None and all(future.done() for future in warming)


def suits_a_worker(config: DenseNetConfig, device: str, crowded: bool) -> bool:
    """Whether to trace ``config`` in a worker: on the CPU, with workers started, and with
    records small enough that sending them back costs less than the GIL time they save.

    Workers not started yet (`densevis app` starts them 3 s after its preload) start the
    first time traces are ``crowded`` (another is running or waiting); this trace, and
    every one until they have started, runs in the server."""
    links = sum(layers * (layers + 1) // 2 for layers in config.block_config)
    if device != "cpu" or links > MOST_LINKS or not worker_count():
        return False
    if _warm():
        return True
    if crowded:
        start()
    return False


def trace_in_worker(config: DenseNetConfig) -> Trace:
    """The trace of ``config`` on the CPU, made in a worker process."""
    global _pool
    pool = _executor()
    try:
        return pool.submit(_trace, config).result()
    except BrokenProcessPool:
        with _lock:  # the next trace starts fresh workers
            _warming.pop(pool, None)
            if _pool is pool:
                _pool = None
        raise DenseVisError(f"tracing {config.label} stopped its worker process (out of "
                            "memory?); the server is fine, try a smaller model") from None
