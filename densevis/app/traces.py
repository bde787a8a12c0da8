"""What the pages show: the trace of the current config or module (cached for the whole
server, keyed on the frozen config, bounded in bytes) and the profiles measured this session."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from densevis.app import budget, workers
from densevis.app.cache import ByteCache
from densevis.app.state import current
from densevis.app.text import plain
from densevis.config import DenseNetConfig, named
from densevis.errors import DenseVisError
from densevis.records import Trace
from densevis.usermodule import ModuleSpec

Source = DenseNetConfig | ModuleSpec  # what a trace is made from: a config or a custom module


def trace_bytes(trace: Trace) -> int:
    """At least the memory a trace holds, counted without walking it: up to ~700 bytes an op
    and ~250 a link (tracemalloc: a 1000-layer block's 500,500 links hold ~126 MB). Pickling
    it to weigh it took longer than tracing it (tests/test_app.py checks the bound)."""
    return 4096 + 700 * len(trace.ops) + 256 * (len(trace.links) + len(trace.output_links)
                                               + len(trace.edges))


TRACES: ByteCache[Trace] = ByteCache(256 * 2**20, 256, trace_bytes)
# One trace per core (or worker) at a time. Sessions beyond that wait here, asleep: running
# them all at once only shares the cores (and in the server, the GIL) between more threads,
# and with 32 sessions tracing the server's event loop went 20 s without answering a ping.
# The budget is reserved only for traces that run.
TRACING = threading.BoundedSemaphore(workers.worker_count() or os.cpu_count() or 1)


def trace_of(source: Source, device: str = "cpu") -> Trace:
    """The trace of a config (or custom module), cached for the server per source and device."""
    from densevis.tracer import trace
    from densevis.usermodule import trace_module_spec

    def make() -> Trace:
        with _counted() as crowded, TRACING, budget.reserve(budget.bytes_to_trace(source),
                                                            f"tracing {_label(source)}"):
            if isinstance(source, ModuleSpec):
                return trace_module_spec(source, device)
            if workers.suits_a_worker(source, device, crowded):
                return workers.trace_in_worker(source)
            return trace(source, device=device)

    return TRACES.get((source, device), make)


_count_lock = threading.Lock()
_tracing = 0  # traces running or waiting to run, all sessions


@contextmanager
def _counted() -> Iterator[bool]:
    """Count a trace while it runs or waits; True when another is running or waiting too."""
    global _tracing
    with _count_lock:
        _tracing += 1
        crowded = _tracing > 1
    try:
        yield crowded
    finally:
        with _count_lock:
            _tracing -= 1


def _label(source: Source) -> str:
    return source.label if isinstance(source, DenseNetConfig) else "the custom module"


def source_of(trace: Trace) -> Source:
    """What a trace was made from: its config, or the custom module the app was opened on."""
    if trace.config is not None:
        return trace.config
    module = current().module
    assert module is not None, "a custom trace without a module"
    return module


def needs_config(trace: Trace, what: str) -> bool:
    """True (after saying so) when a page needs a DenseNet config and this is a custom module."""
    if trace.config is not None:
        return False
    st.info(f"{what} needs a DenseNet config; {trace.model} is a custom module "
            "(`densevis app --module`). The overview, diagrams, connectivity, channels, layers, "
            "latency and export pages work on it.")
    return True


def needs_blocks(trace: Trace) -> bool:
    """True (after saying so) when the trace has no dense block for this page to show."""
    if trace.blocks:
        return False
    st.info(f"No dense blocks found in {trace.model}: this page shows dense blocks. The "
            "overview, the layer table and latency still apply.")
    return True


def with_growth_rate(config: DenseNetConfig, growth_rate: int) -> DenseNetConfig:
    """The config with another k (named after a preset when it equals one)."""
    return config if growth_rate == config.growth_rate else named(
        config.replace(growth_rate=growth_rate))


def latency_for(config: Source) -> dict[str, float] | None:
    """Per-op median latency (ms) measured in this session for this config, if any."""
    profile = st.session_state.get("profiles", {}).get(config)
    return profile.latency_ms() if profile is not None else None


def store_profile(config: Source, profile: Any) -> None:
    st.session_state.setdefault("profiles", {})[config] = profile


def require_trace() -> Trace | None:
    """The current trace, or None after telling the user why there is none."""
    state = current()
    with st.spinner(f"Tracing {_label(state.source)}…"):
        try:
            return trace_of(state.source, state.device)
        except DenseVisError as problem:
            st.error(plain(problem))
            return None
