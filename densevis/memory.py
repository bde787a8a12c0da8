"""Analytic memory of DenseNet's concatenations, from a Trace's shapes (pure: no torch).

Two ways to run a dense block:

* **naive** — every dense layer's ``torch.cat`` allocates a new tensor of all the features so
  far (C_l = k0 + k(l-1) channels), and its first BatchNorm another of the same size. In a
  training step both stay alive for the backward pass, so a block keeps sum_l 2 C_l channels:
  quadratic in the number of layers L.
* **memory-efficient** (Pleiss et al. 2017, "Memory-Efficient Implementation of DenseNets") —
  the concatenation and the first BatchNorm write into two shared buffers sized for the largest
  layer, and are recomputed during the backward pass instead of kept: linear in L. densevis's
  ``memory_efficient=True`` does this with ``torch.utils.checkpoint`` around concat + BN + ReLU
  + 1x1 conv (the recomputation needs the same two buffers' worth of transient memory, for one
  layer at a time). Without a bottleneck (bn_size = 0) the checkpoint only covers the concat,
  so densevis's model saves less than this estimate there.

Every number is derived from the traced layers' output shapes and element size; nothing is
typed in. Bytes scale exactly with the batch size, so one trace serves any batch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import prod
from typing import TYPE_CHECKING, Any

from densevis.checks import check_batch_size
from densevis.errors import DenseVisError
from densevis.records import Op, Trace

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class BlockMemory:
    """One dense block's activation bytes at the chosen batch size."""

    block: int
    layers: int  # L
    k0: int
    growth_rate: int
    height: int
    width: int
    features: int  # the block input and every layer's output: k0 + kL channels, kept once
    concat_naive: int  # allocated by the L concatenations, sum_l C_l channels (quadratic)
    concat_shared: int  # one shared buffer for the largest concatenation (linear)
    inference_naive: int  # peak live bytes of a no-grad forward through the block
    inference_efficient: int
    training_naive: int  # bytes kept for the backward pass, every op output kept
    training_efficient: int  # concat + first BN in two shared buffers, recomputed


@dataclass(frozen=True)
class NetworkMemory:
    """Analytic activation memory of the whole network, naive vs memory-efficient."""

    model: str
    batch_size: int
    dtype: str
    element_size: int  # bytes per value
    input_size: tuple[int, int]
    params_bytes: int  # the weights; a training step allocates as much again for gradients
    other_training: int  # stem, transitions and head outputs kept for backward (both ways)
    other_inference: int  # largest input + output of one op outside the blocks
    blocks: tuple[BlockMemory, ...]

    @property
    def inference_naive(self) -> int:
        """Peak activation bytes of one inference forward pass (naive)."""
        return max([self.other_inference] + [b.inference_naive for b in self.blocks])

    @property
    def inference_efficient(self) -> int:
        return max([self.other_inference] + [b.inference_efficient for b in self.blocks])

    @property
    def training_naive(self) -> int:
        """Peak of one training step (forward + backward): activations kept + gradients."""
        return (self.other_training + sum(b.training_naive for b in self.blocks)
                + self.params_bytes)

    @property
    def training_efficient(self) -> int:
        return (self.other_training + sum(b.training_efficient for b in self.blocks)
                + self.params_bytes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        data["blocks"] = [asdict(block) for block in self.blocks]
        for key in ("inference_naive", "inference_efficient", "training_naive",
                    "training_efficient"):
            data[key] = getattr(self, key)
        return data

    def to_dataframe(self) -> pd.DataFrame:
        """One row per block plus a "network" row (bytes)."""
        import pandas as pd

        rows: list[dict[str, Any]] = [asdict(block) for block in self.blocks]
        rows.append({"block": "network", "layers": sum(b.layers for b in self.blocks),
                     "inference_naive": self.inference_naive,
                     "inference_efficient": self.inference_efficient,
                     "training_naive": self.training_naive,
                     "training_efficient": self.training_efficient})
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class MeasuredMemory:
    """Memory and time of the real model, measured by ``densevis.memory_measure``.

    Peaks are bytes allocated above what existed before the step (weights, input image), so
    they are comparable with NetworkMemory's activation + gradient figures.
    """

    device: str
    method: str  # "torch.cuda.max_memory_allocated", or tensor storage tracked by a dispatch mode
    batch_size: int
    input_size: tuple[int, int]
    inference_peak: int  # no-grad forward (memory_efficient does nothing here)
    training_naive_peak: int  # forward + backward, memory_efficient=False
    training_efficient_peak: int  # forward + backward, memory_efficient=True
    training_naive_seconds: float  # median time of a training step
    training_efficient_seconds: float
    repeats: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def recompute_overhead(self) -> float:
        """Extra time of a memory-efficient training step, as a fraction (0.15 = 15 %)."""
        return self.training_efficient_seconds / self.training_naive_seconds - 1.0

    @property
    def memory_saving(self) -> float:
        """Fraction of the naive training peak the memory-efficient mode saves."""
        return 1.0 - self.training_efficient_peak / self.training_naive_peak

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["input_size"] = list(self.input_size)
        data["notes"] = list(self.notes)
        data["recompute_overhead"] = self.recompute_overhead
        data["memory_saving"] = self.memory_saving
        return data


@dataclass(frozen=True)
class MemoryReport:
    """Analytic and (where measured) real memory, side by side."""

    analytic: NetworkMemory
    measured: MeasuredMemory | None = None

    def rows(self) -> list[dict[str, Any]]:
        """(quantity, mode, analytic bytes, measured bytes or None) rows."""
        a, m = self.analytic, self.measured
        return [
            {"quantity": "inference", "mode": "naive", "analytic": a.inference_naive,
             "measured": m.inference_peak if m else None},
            {"quantity": "inference", "mode": "memory-efficient",
             "analytic": a.inference_efficient, "measured": m.inference_peak if m else None},
            {"quantity": "training step", "mode": "naive", "analytic": a.training_naive,
             "measured": m.training_naive_peak if m else None},
            {"quantity": "training step", "mode": "memory-efficient",
             "analytic": a.training_efficient,
             "measured": m.training_efficient_peak if m else None},
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"analytic": self.analytic.to_dict(),
                "measured": self.measured.to_dict() if self.measured else None,
                "comparison": self.rows()}

    def to_dataframe(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.rows(), columns=["quantity", "mode", "analytic", "measured"])


# --------------------------------------------------------------------------- analysis


def _element_size(trace: Trace) -> int:
    for layer in trace.ops:
        if layer.activation_bytes:
            return layer.activation_bytes // prod(layer.output_shape)
    raise DenseVisError("the trace has no layer with activations")


def _scale(value: int, trace: Trace, batch_size: int) -> int:
    """Bytes at ``batch_size`` from bytes at the trace's batch (shapes are linear in N)."""
    return value * batch_size // trace.batch_size


def _block_memory(trace: Trace, index: int, batch_size: int) -> BlockMemory:
    info = trace.block(index)
    ops = [layer for layer in trace.ops if layer.block == index]
    layers: dict[int, list[Op]] = {}
    output = None
    for op in ops:
        if op.position is None:
            output = op
        else:
            layers.setdefault(op.position, []).append(op)
    if output is None or not layers:
        raise DenseVisError(f"block {index} has no traced layers")

    def size(value: int) -> int:
        return _scale(value, trace, batch_size)

    concats, kept_naive, kept_efficient, own = [], 0, 0, []
    shared_ops: list[int] = []
    for position in sorted(layers):
        members = layers[position]
        concat = next(op for op in members if op.kind == "concat")
        # The BatchNorm that reads the concatenation shares its buffer in Pleiss et al.
        first_bn = next(op for op in members if op.kind == "batchnorm")
        shared = concat.activation_bytes + first_bn.activation_bytes
        total = sum(op.activation_bytes for op in members)
        concats.append(concat.activation_bytes)
        shared_ops.append(shared)
        own.append(total - shared)
        kept_naive += total
        kept_efficient += total - shared
    largest = max(concats)
    buffers = 2 * largest  # concat + BN shared storage, sized for the largest layer
    x0 = concats[0]  # the first layer's concat is the block input alone
    layer_out = [ops_out for ops_out in (
        next(op for op in reversed(layers[p]) if op.kind == "conv").activation_bytes
        for p in sorted(layers))]
    features_before = [x0 + sum(layer_out[:i]) for i in range(len(layer_out))]
    inference_naive = max(
        [f + shared + rest for f, shared, rest in zip(features_before, shared_ops, own,
                                                     strict=True)]
        + [output.activation_bytes * 2]  # all features + the block output concatenation
    )
    inference_efficient = max(
        [f + buffers + rest for f, rest in zip(features_before, own, strict=True)]
        + [output.activation_bytes * 2]
    )
    return BlockMemory(
        block=index,
        layers=info.dense_layers,
        k0=info.k0,
        growth_rate=info.growth_rate,
        height=info.height,
        width=info.width,
        features=size(output.activation_bytes),
        concat_naive=size(sum(concats)),
        concat_shared=size(largest),
        inference_naive=size(inference_naive),
        inference_efficient=size(inference_efficient),
        training_naive=size(kept_naive + output.activation_bytes),
        training_efficient=size(kept_efficient + buffers + output.activation_bytes),
    )


def concat_memory(trace: Trace, batch_size: int | None = None) -> NetworkMemory:
    """Naive vs memory-efficient activation memory per block and for the network.

    ``batch_size`` defaults to the trace's. Training figures are the activations a forward
    pass keeps for backward plus the parameter gradients; inference figures are the peak of
    live activations (features kept + the largest dense layer's temporaries).
    """
    batch = trace.batch_size if batch_size is None else batch_size
    check_batch_size(batch)
    element = _element_size(trace)
    others = [layer for layer in trace.ops if layer.block is None]
    other_inference = max(
        (prod(layer.input_shape) * element + layer.activation_bytes for layer in others),
        default=0,
    )
    return NetworkMemory(
        model=trace.model,
        batch_size=batch,
        dtype=trace.dtype,
        element_size=element,
        input_size=tuple(trace.config.input_size),  # type: ignore[arg-type]
        params_bytes=trace.totals.params * element,
        other_training=_scale(sum(layer.activation_bytes for layer in others), trace, batch),
        other_inference=_scale(other_inference, trace, batch),
        blocks=tuple(_block_memory(trace, block.index, batch) for block in trace.blocks),
    )
