"""densevis: see inside DenseNet.

Build a DenseNet (torchvision's names and keys), trace it into plain records, measure it and
draw it. Torch is imported lazily, so ``densevis.config`` and ``densevis.render`` stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from densevis.config import PRESETS, DenseNetConfig, get_config
from densevis.errors import DenseVisError

if TYPE_CHECKING:
    from densevis.model import DenseNet, build_model
    from densevis.profiler import profile_latency
    from densevis.tracer import trace
    from densevis.weights import load_checkpoint

__all__ = [
    "PRESETS",
    "DenseNet",
    "DenseNetConfig",
    "DenseVisError",
    "build_model",
    "get_config",
    "load_checkpoint",
    "profile_latency",
    "trace",
]

_LAZY = {
    "build_model": "densevis.model",
    "DenseNet": "densevis.model",
    "trace": "densevis.tracer",
    "profile_latency": "densevis.profiler",
    "load_checkpoint": "densevis.weights",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'densevis' has no attribute {name!r}")
