"""Measure the memory and time of a real training step, naive vs memory-efficient (torch).

On CUDA the peak is ``torch.cuda.max_memory_allocated`` above what was allocated before the
step. Elsewhere (CPU, MPS) a ``TorchDispatchMode`` sees every tensor an op creates, counts its
storage once and uncounts it when the storage is freed (weakref finalizers), so its peak is
the peak of live tensor storage — kernels' private scratch memory is not seen.
"""

from __future__ import annotations

import statistics
import time
import weakref
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from densevis.checks import check_batch_size, check_count
from densevis.config import DenseNetConfig, get_config
from densevis.devices import resolve_device
from densevis.errors import DenseVisError
from densevis.memory import MeasuredMemory
from densevis.memory_cap import check_memory
from densevis.model import DenseNet


class TensorMemoryTracker(TorchDispatchMode):
    """Live bytes of tensor storage created inside the ``with`` block, and their peak."""

    def __init__(self) -> None:
        super().__init__()
        self.live: dict[int, int] = {}
        self.current = 0
        self.peak = 0

    def _free(self, key: int) -> None:
        self.current -= self.live.pop(key, 0)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None
                           ) -> Any:
        out = func(*args, **(kwargs or {}))
        for value in tree_leaves(out):
            if isinstance(value, torch.Tensor):
                storage = value.untyped_storage()
                key = storage.data_ptr()
                if key and key not in self.live:
                    size = storage.nbytes()
                    self.live[key] = size
                    self.current += size
                    self.peak = max(self.peak, self.current)
                    weakref.finalize(storage, self._free, key)
        return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak(device: torch.device, step: Callable[[], None]) -> int:
    """Bytes allocated at the peak of ``step`` above what existed before it."""
    if device.type == "cuda":
        _sync(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step()
        _sync(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    tracker = TensorMemoryTracker()
    with tracker:
        step()
    return tracker.peak


def _interleaved_seconds(device: torch.device, steps: dict[bool, Callable[[], None]],
                         repeats: int) -> dict[bool, float]:
    """Median seconds of each step, timed alternately so that load from other processes
    falls on both alike; one warm-up run each first."""
    for step in steps.values():
        step()
    times: dict[bool, list[float]] = {key: [] for key in steps}
    for _ in range(repeats):
        for key, step in steps.items():
            _sync(device)
            start = time.perf_counter()
            step()
            _sync(device)
            times[key].append(time.perf_counter() - start)
    return {key: statistics.median(values) for key, values in times.items()}


def measure_memory(
    model: str | DenseNetConfig | DenseNet = "densenet121",
    batch_size: int = 8,
    device: str | torch.device | None = "auto",
    repeats: int = 3,
    max_memory: int | None = None,
    seed: int = 0,
) -> MeasuredMemory:
    """Peak memory of inference and of one training step (forward + cross-entropy backward)
    with ``memory_efficient`` False and True, and the median time of a training step each way.

    ``model`` may be a built DenseNet (its weights are copied into both variants).
    """
    check_batch_size(batch_size)
    check_count("repeats", repeats)
    if isinstance(model, DenseNet):
        config, state = model.config, model.state_dict()
        target = next(model.parameters()).device if device in (None, "auto") else \
            resolve_device(device)
    else:
        config, state = get_config(model), None
        target = resolve_device(device)
    check_memory(config, max_memory, batch_size, device=target)
    generator = torch.Generator().manual_seed(seed)
    image = torch.randn(batch_size, config.in_channels, *config.input_size,
                        generator=generator).to(target)
    labels = torch.randint(0, config.num_classes, (batch_size,), generator=generator).to(target)
    nets = _twins(config, state, target)

    def train_step(net: DenseNet) -> None:
        net.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(image), labels)
        loss.backward()
        del loss

    peaks = {efficient: _peak(target, lambda net=net: train_step(net))
             for efficient, net in nets.items()}
    for net in nets.values():
        net.zero_grad(set_to_none=True)
    seconds = _interleaved_seconds(target, {e: (lambda net=net: train_step(net))
                                            for e, net in nets.items()}, repeats)
    nets[False].eval()

    def infer() -> None:
        with torch.no_grad():
            nets[False](image)

    inference = _peak(target, infer)
    for net in nets.values():
        net.zero_grad(set_to_none=True)
    return MeasuredMemory(
        device=str(target),
        method=("torch.cuda.max_memory_allocated" if target.type == "cuda"
                else "tensor storage tracked with a TorchDispatchMode"),
        batch_size=batch_size,
        input_size=tuple(config.input_size),  # type: ignore[arg-type]
        inference_peak=inference,
        training_naive_peak=peaks[False],
        training_efficient_peak=peaks[True],
        training_naive_seconds=seconds[False],
        training_efficient_seconds=seconds[True],
        repeats=repeats,
        notes=_notes(target),
    )


def _twins(config: DenseNetConfig, state: dict[str, torch.Tensor] | None,
           target: torch.device) -> dict[bool, DenseNet]:
    """The model with memory_efficient False and True on ``target``, in training mode, with
    the same weights (``state``, else the first one's random initialisation)."""
    nets: dict[bool, DenseNet] = {}
    for efficient in (False, True):
        with torch.device(target):
            net = DenseNet(config.replace(memory_efficient=efficient, name=config.name))
        if state is None:
            state = {key: value.clone() for key, value in net.state_dict().items()}
        else:
            net.load_state_dict(state)
        nets[efficient] = net.train()
    return nets


def _notes(target: torch.device) -> tuple[str, ...]:
    notes = ("peaks are bytes above the weights and input already allocated; parameter "
             "gradients are included in the training step",)
    if target.type != "cuda":
        notes += ("kernels' private scratch memory (e.g. oneDNN workspaces) is not counted",)
    return notes


def gradients_match(config: DenseNetConfig, batch_size: int = 2, seed: int = 0) -> float:
    """Largest absolute gradient difference between memory_efficient False and True after
    one training step with identical weights and data (a self-check; should be ~1e-7)."""
    torch.manual_seed(seed)
    naive = DenseNet(config.replace(memory_efficient=False)).train()
    efficient = DenseNet(config.replace(memory_efficient=True)).train()
    efficient.load_state_dict(naive.state_dict())
    image = torch.randn(batch_size, config.in_channels, *config.input_size)
    labels = torch.randint(0, config.num_classes, (batch_size,))
    for net in (naive, efficient):
        F.cross_entropy(net(image), labels).backward()
    worst = 0.0
    for (name, a), (_, b) in zip(naive.named_parameters(), efficient.named_parameters(),
                                 strict=True):
        if a.grad is None or b.grad is None:
            raise DenseVisError(f"no gradient for {name}")
        worst = max(worst, float((a.grad - b.grad).abs().max()))
    return worst
