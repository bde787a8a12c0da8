"""One memory budget for the whole server. Work that needs memory (building, tracing,
profiling a model, loading a checkpoint) reserves its estimate first: it waits while other
sessions hold the budget, and is refused with a message when it cannot fit or waits too long."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from densevis.config import DenseNetConfig, estimate_memory, probe_config
from densevis.errors import DenseVisError
from densevis.memory_cap import host_available_bytes
from densevis.spec import parse_bytes
from densevis.units import format_bytes

WAIT_S = 20.0  # longest wait for other sessions to release memory


def _budget_bytes() -> int:
    """DENSEVIS_MEMORY_BUDGET (e.g. 4G), else half the memory available at server start."""
    text = os.environ.get("DENSEVIS_MEMORY_BUDGET")
    return parse_bytes(text) if text else host_available_bytes() // 2


BUDGET = _budget_bytes()
_free = threading.Condition()
_held = 0


def check_fits(needed: int, what: str) -> None:
    """Refuse at once work that could never fit the server's budget."""
    if needed > BUDGET:
        raise DenseVisError(f"{what} needs about {format_bytes(needed)}, over this server's "
                            f"{format_bytes(BUDGET)} memory budget; make the model smaller")


def bytes_for(source: object, batch_size: int = 1) -> int:
    """The estimate to reserve for building and running a model: a DenseNet config's analytic
    weights plus activations; 0 for a custom module (unknown until it is built)."""
    if not isinstance(source, DenseNetConfig):
        return 0
    return estimate_memory(source, batch_size).total_bytes


def bytes_to_trace(source: object) -> int:
    """What tracing allocates: a DenseNet config's weights and one probe-sized pass (shapes
    at full size are computed, never allocated); 0 for a custom module."""
    if not isinstance(source, DenseNetConfig):
        return 0
    return estimate_memory(probe_config(source)).total_bytes


def held() -> int:
    """Bytes reserved right now, by all sessions together."""
    return _held


@contextmanager
def reserve(needed: int, what: str) -> Iterator[None]:
    """Hold ``needed`` bytes of the budget while the block runs (waiting up to WAIT_S)."""
    global _held
    check_fits(needed, what)
    with _free:
        if not _free.wait_for(lambda: _held + needed <= BUDGET, timeout=WAIT_S):
            raise DenseVisError(f"the server is busy: {what} needs {format_bytes(needed)} and "
                                f"other sessions hold {format_bytes(_held)} of the "
                                f"{format_bytes(BUDGET)} budget; try again in a moment")
        _held += needed
    try:
        yield
    finally:
        with _free:
            _held -= needed
            _free.notify_all()
