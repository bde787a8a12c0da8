"""Weight statistics of a loaded checkpoint as plain records (no torch): per op (keyed by the
trace's op name, which is the module path the state_dict uses), each learned tensor's shape,
mean |W|, min and max. ``densevis.reuse_measure.weight_stats`` fills them from a model; the
Diagram page's property panel reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

from densevis.config import DenseNetConfig, same_except

# Config fields that change no weight tensor: a checkpoint fits a config that differs only here.
WEIGHTLESS_FIELDS = ("input_size", "drop_rate", "memory_efficient")  # and the name


@dataclass(frozen=True)
class TensorStats:
    """One learned tensor of an op (a parameter, not a running statistic)."""

    tensor: str  # "weight" or "bias"
    shape: tuple[int, ...]
    mean_abs: float  # mean |W| over every element
    min: float
    max: float


@dataclass(frozen=True)
class WeightStats:
    """Every op's learned tensors in one checkpoint."""

    source: str  # the checkpoint's file name
    config: DenseNetConfig  # the config the weights were loaded into
    ops: tuple[tuple[str, tuple[TensorStats, ...]], ...]  # (op name, its tensors), model order

    def of(self, op: str) -> tuple[TensorStats, ...]:
        """The learned tensors of op ``op`` (its full name); empty when it has none."""
        return next((tensors for name, tensors in self.ops if name == op), ())

    def fits(self, config: DenseNetConfig | None) -> bool:
        """Whether these weights belong to ``config`` (fields that shape no tensor aside)."""
        return config is not None and same_except(config, self.config, WEIGHTLESS_FIELDS)
