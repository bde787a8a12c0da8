"""Run tiny passes on one CPU thread without touching any other thread's setting.

``torch.set_num_threads`` is process-wide (it also sets the count every new thread starts
with), so changing it per request disturbs concurrent measurements (issue 12, point 9).
OpenMP's own ``omp_set_num_threads`` sets the team size of the calling thread only, and
torch's CPU kernels (its OpenMP backend) read it per thread: ``torch.get_num_threads()``
answers from it. A probe pass of tiny tensors gains nothing from a team, and on a busy
2-core machine each op waits milliseconds for the team's second thread to be scheduled.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch


@functools.cache
def _openmp() -> Any:
    """The OpenMP runtime torch runs on (its bundled libgomp/libomp), or None."""
    if "parallel backend: OpenMP" not in torch.__config__.parallel_info():
        return None
    folder = Path(torch.__file__).parent / "lib"
    for pattern in ("libgomp*.so*", "libiomp5*", "libomp*"):
        for path in sorted(folder.glob(pattern)):
            try:
                runtime = ctypes.CDLL(str(path))
                runtime.omp_set_num_threads  # noqa: B018 (the symbol must exist)
            except (OSError, AttributeError):
                continue
            return runtime
    return None


@contextmanager
def one_thread_here() -> Iterator[None]:
    """Torch ops in the calling thread use one CPU thread inside the block; the count is
    restored after it. Other threads and the process default are left alone; where torch's
    OpenMP runtime cannot be reached, nothing changes."""
    runtime = _openmp()
    if runtime is None:
        yield
        return
    before = torch.get_num_threads()  # also lets torch set this thread's count up first
    runtime.omp_set_num_threads(1)
    try:
        yield
    finally:
        runtime.omp_set_num_threads(before)
