"""How much memory a run may use: the one home of the memory-cap rule.

The cap is the user's ``max_memory`` if given, else half the memory available now on the
device (``MemAvailable`` from ``/proc/meminfo`` for the host, ``torch.cuda.mem_get_info`` for
a CUDA device). ``check_memory`` refuses a config whose analytic estimate passes the cap,
before anything is allocated. Torch is imported only when a CUDA device is named.
"""

from __future__ import annotations

import math
import os
from typing import Any

from densevis.checks import check_batch_size
from densevis.config import DenseNetConfig, MemoryEstimate, estimate_memory
from densevis.errors import DenseVisError
from densevis.units import format_bytes


def host_available_bytes() -> int:
    """Memory the OS says is available now (MemAvailable), or total RAM as a fallback."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def available_bytes(device: Any = None) -> int:
    """Free memory of ``device`` (a torch.device or its name; None or "cpu" = the host)."""
    name = str(device) if device is not None else "cpu"
    if name.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(name))
        return int(free)
    return host_available_bytes()


def checked_max_memory(max_memory: Any) -> int | None:
    """``max_memory`` as a positive whole number of bytes (None stays None)."""
    if max_memory is None:
        return None
    if isinstance(max_memory, bool) or not isinstance(max_memory, int | float):
        raise DenseVisError(f"max_memory must be a number of bytes, got {max_memory!r}")
    if not math.isfinite(max_memory) or max_memory < 1:
        raise DenseVisError(f"max_memory must be a positive number of bytes, got {max_memory!r}")
    return int(max_memory)


def memory_cap(max_memory: Any = None, device: Any = None) -> int:
    """Bytes a run may use: ``max_memory``, else half the free memory of ``device``."""
    checked = checked_max_memory(max_memory)
    return available_bytes(device) // 2 if checked is None else checked


def check_memory(config: DenseNetConfig, max_memory: Any = None, batch_size: int = 1,
                 device: Any = None) -> MemoryEstimate:
    """Refuse a config whose parameters plus activations at ``batch_size`` would pass the cap."""
    check_batch_size(batch_size)
    estimate = estimate_memory(config, batch_size)
    cap = memory_cap(max_memory, device)
    if estimate.total_bytes > cap:
        where = "the host" if device is None or str(device) in ("cpu", "mps") else str(device)
        source = f"half the free memory of {where}" if max_memory is None else "--max-memory"
        raise DenseVisError(
            f"this config needs about {format_bytes(estimate.total_bytes)} "
            f"({format_bytes(estimate.state_bytes)} of weights, "
            f"{format_bytes(estimate.activation_bytes)} of activations at batch {batch_size}), "
            f"over the {format_bytes(cap)} cap ({source}); make it smaller or raise the cap"
        )
    return estimate


def check_bytes(needed: int, what: str, max_memory: Any = None, device: Any = None) -> None:
    """Refuse ``needed`` bytes of ``what`` over the cap (e.g. a checkpoint's declared tensors)."""
    cap = memory_cap(max_memory, device)
    if needed > cap:
        source = "half the free memory" if max_memory is None else "--max-memory"
        raise DenseVisError(
            f"{what} need {format_bytes(needed)}, over the {format_bytes(cap)} cap ({source})"
        )
