"""Measured latency: per-layer times from forward hooks, throughput, device peak, roofline.

Method (``profile_latency``): the model runs in ``eval()`` under ``torch.inference_mode()``;
``warmup`` hooked passes are run and thrown away; then ``repeats`` rounds, each one hooked pass
followed by one plain pass (interleaved so that drift on a shared machine hits both alike).

* Every leaf op of the trace (convolutions, BN, ReLU, pools, the linear layer and the explicit
  ``Concat`` modules) gets a forward pre-hook and a forward hook. On CPU each hook stores one
  ``time.perf_counter_ns()`` into a preallocated slot; on CUDA each hook records a
  preallocated ``torch.cuda.Event`` on the current stream, and the pass ends with one
  ``torch.cuda.synchronize`` (none inside hooks). On MPS the hooks synchronize and read the
  clock (MPS has no stream-ordered timing here), which adds overhead there.
* A layer's time in a pass is its post-hook stamp minus its pre-hook stamp; its median and
  quartiles are taken over the ``repeats`` passes.
* The end-to-end time is measured around the hooked call (``hooked_total_ms``) and, without
  any hooks, around the plain call (``plain_total_ms``); their ratio is the hook overhead.
* ``unattributed_ms = hooked_total_ms - sum(layer medians)``, so the per-layer rows plus the
  unattributed row add up to the hooked end-to-end median exactly (see ``densevis.timing``).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from math import prod
from typing import Any

import torch
from torch import nn

from densevis.checks import check_batch_size, check_count
from densevis.config import DenseNetConfig, estimate_memory, get_config
from densevis.devices import resolve_device
from densevis.errors import DenseVisError
from densevis.memory_cap import check_memory, memory_cap
from densevis.metrics import arithmetic_intensity
from densevis.model import DenseNet
from densevis.records import Op, Trace
from densevis.timing import (
    DevicePeak,
    OpTiming,
    Profile,
    RooflinePoint,
    ThroughputPoint,
    noise_reasons,
    quartiles,
    spread,
)

Progress = Callable[[int, int], None]  # (passes done, passes in all)
Target = str | DenseNetConfig | nn.Module

_PEAKS: dict[str, DevicePeak] = {}  # measure_peak's cache: one measurement per device
# One measurement at a time in this process: torch's thread count is process-wide, hooks on a
# shared module would mix, and two timings running side by side would each measure the other.
_MEASURING = threading.RLock()


# --------------------------------------------------------------------------- inputs


def cpu_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def check_threads(threads: Any) -> int | None:
    """None (leave torch's count) or 1..the cores this process may use."""
    if threads is None:
        return None
    check_count("threads", threads)
    cores = cpu_cores()
    if threads > cores:
        raise DenseVisError(f"threads must be at most {cores} (the cores here), got {threads}")
    return threads


def _model(target: Target, device: str | torch.device | None, max_memory: int | None,
           batch_size: int) -> tuple[nn.Module, torch.device]:
    """The module to time and where it lives; refuses batches that would not fit first."""
    if isinstance(target, nn.Module):
        parameter = next(target.parameters(), None)
        placed = parameter.device if parameter is not None else torch.device("cpu")
        if isinstance(target, DenseNet):  # a custom module has no analytic memory estimate
            check_memory(target.config, max_memory, batch_size, device=placed)
        return target, placed
    placed = resolve_device(device)
    config = get_config(target)
    check_memory(config, max_memory, batch_size, device=placed)
    with torch.device(placed):
        model = DenseNet(config)
    return model.eval(), placed


def _image(model: nn.Module, batch_size: int, shape: Sequence[int]) -> torch.Tensor:
    """A seeded random batch of ``shape`` (C, H, W) images where the model lives."""
    parameter = next(model.parameters(), None)
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(batch_size, *shape, generator=generator,
                        dtype=parameter.dtype if parameter is not None else torch.float32)
    return image.to(parameter.device) if parameter is not None else image


@contextmanager
def _measuring(model: nn.Module, threads: int | None) -> Iterator[None]:
    """One measurement at a time: eval + inference_mode + a fixed thread count, all restored
    afterwards. The thread count is process-wide, so it is only changed under the lock."""
    with _MEASURING:
        was_training = model.training
        old_threads = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        model.eval()
        try:
            with torch.inference_mode():
                yield
        finally:
            model.train(was_training)
            if threads is not None:
                torch.set_num_threads(old_threads)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


# --------------------------------------------------------------------------- hooks


class _Stamps:
    """Pre/post forward hooks on the leaf ops, writing into preallocated slots."""

    def __init__(self, modules: Sequence[nn.Module], device: torch.device) -> None:
        self.modules = list(modules)
        self.device = device
        count = len(self.modules)
        self.cuda = device.type == "cuda"
        if self.cuda:
            self.starts = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
            self.ends = [torch.cuda.Event(enable_timing=True) for _ in range(count)]
        else:
            self.slots = [0] * (2 * count)
        self.handles: list[Any] = []

    def attach(self) -> None:
        for index, module in enumerate(self.modules):
            pre, post = self._hooks(index)
            self.handles.append(module.register_forward_pre_hook(pre))
            self.handles.append(module.register_forward_hook(post))

    def detach(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles.clear()

    def _hooks(self, index: int) -> tuple[Callable[..., None], Callable[..., None]]:
        # Each hook is one call and one store: no lookups, no allocation, no synchronize.
        if self.cuda:
            start, end = self.starts[index], self.ends[index]

            def pre_event(module: nn.Module, args: Any) -> None:
                start.record()

            def post_event(module: nn.Module, args: Any, output: Any) -> None:
                end.record()

            return pre_event, post_event
        slots, first, second = self.slots, 2 * index, 2 * index + 1
        clock = time.perf_counter_ns
        if self.device.type == "mps":
            sync = torch.mps.synchronize

            def pre_mps(module: nn.Module, args: Any) -> None:
                sync()
                slots[first] = clock()

            def post_mps(module: nn.Module, args: Any, output: Any) -> None:
                sync()
                slots[second] = clock()

            return pre_mps, post_mps

        def pre(module: nn.Module, args: Any) -> None:
            slots[first] = clock()

        def post(module: nn.Module, args: Any, output: Any) -> None:
            slots[second] = clock()

        return pre, post

    def reset(self) -> None:
        if not self.cuda:
            self.slots[:] = [0] * len(self.slots)

    def layer_ms(self) -> list[float]:
        """Each op's time in the pass just finished (after the end-of-pass synchronize)."""
        if self.cuda:
            return [s.elapsed_time(e) for s, e in zip(self.starts, self.ends, strict=True)]
        slots = self.slots
        times = [(slots[2 * i + 1] - slots[2 * i]) / 1e6 for i in range(len(self.modules))]
        if any(slots[2 * i] == 0 or slots[2 * i + 1] == 0 for i in range(len(self.modules))):
            raise RuntimeError("a traced op did not run in the timed pass")
        return times


class _Timer:
    """End-to-end time of one call: CUDA events on CUDA, perf_counter_ns elsewhere."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        if device.type == "cuda":
            self.begin = torch.cuda.Event(enable_timing=True)
            self.end = torch.cuda.Event(enable_timing=True)

    def run(self, call: Callable[[], Any]) -> float:
        """Milliseconds ``call`` took, ending with one synchronize."""
        if self.device.type == "cuda":
            self.begin.record()
            call()
            self.end.record()
            torch.cuda.synchronize(self.device)
            return float(self.begin.elapsed_time(self.end))
        _synchronize(self.device)
        start = time.perf_counter_ns()
        call()
        _synchronize(self.device)
        return (time.perf_counter_ns() - start) / 1e6


@contextmanager
def _on_device(device: torch.device) -> Iterator[None]:
    """Make ``device`` the current CUDA device, so events record on its current stream."""
    if device.type == "cuda":
        with torch.cuda.device(device):
            yield
    else:
        yield


# --------------------------------------------------------------------------- latency


def profile_latency(
    target: Target = "densenet121",
    device: str | torch.device | None = "auto",
    batch_size: int = 1,
    warmup: int = 3,
    repeats: int = 10,
    progress: Progress | None = None,
    threads: int | None = None,
    max_memory: int | None = None,
    input_size: Any = None,
    time_budget_s: float = 10.0,
) -> Profile:
    """Per-layer median latency (with IQR), the unattributed rest and the hook overhead.

    ``target`` is a preset name, a DenseNetConfig or a built module (timed where it lives;
    ``device`` is then ignored). For a custom module ``input_size`` is (C, H, W) or (H, W);
    its leaf modules called once are timed, functional ops count as unattributed.
    ``threads`` fixes torch's intra-op thread count for the run (default: leave it as is);
    the count used is reported. ``progress(done, total)`` is
    called after every pass. Hooks are removed even when interrupted (Ctrl-C).

    After ``repeats`` rounds the last ``repeats`` are judged (``timing.noise_reasons``); while
    they are noisy, more rounds run until they settle or ``time_budget_s`` more seconds have
    passed (0: never extend). The profile's ``verdict`` says which, and why.
    """
    check_batch_size(batch_size)
    check_count("warm-up runs", warmup, 0)
    check_count("repeats", repeats, 1)
    check_threads(threads)
    check_time_budget(time_budget_s)
    from densevis.tracer import trace

    with _MEASURING:  # the tracer's probe hooks the module too: one caller at a time
        model, placed = _model(target, device, max_memory, batch_size)
        records = trace(model, input_size=input_size, batch_size=batch_size,
                        max_memory=max_memory)
    modules = dict(model.named_modules())
    called_again = {op.name.rsplit(":", 1)[0] for op in records.ops if ":" in op.name}
    timed = [op for op in records.ops if op.name in modules and op.name not in called_again]
    leaves = [modules[op.name] for op in timed]
    image = _image(model, batch_size, records.image_shape)
    stamps = _Stamps(leaves, placed)
    timer = _Timer(placed)
    window = _Window(len(leaves), repeats)

    def forward() -> None:
        model(image)

    with _measuring(model, threads), _on_device(placed):
        used_threads = torch.get_num_threads()
        _run_rounds(forward, stamps, timer, window, warmup, time_budget_s, progress)
    return _profile_of(records, timed, window, str(placed), used_threads, batch_size, warmup,
                       repeats)


def _run_rounds(forward: Callable[[], None], stamps: _Stamps, timer: _Timer, window: _Window,
                warmup: int, time_budget_s: float, progress: Progress | None) -> None:
    """Warm-up passes, then hooked + plain rounds until the window is full and steady, or
    ``time_budget_s`` seconds after it first proved noisy. Hooks are off when this returns."""
    try:
        stamps.attach()
        for done in range(1, warmup + 1):
            stamps.reset()
            timer.run(forward)
            stamps.layer_ms()  # checks every op ran
            if progress is not None:
                progress(done, warmup + window.size)
        extra_since: float | None = None  # when the first full window proved noisy
        while True:
            stamps.reset()
            total = timer.run(forward)
            times = stamps.layer_ms()
            stamps.detach()
            window.add(total, times, timer.run(forward))
            stamps.attach()
            if progress is not None:
                progress(warmup + window.rounds, warmup + max(window.size, window.rounds))
            if not window.full:
                continue
            if not window.noise():
                return
            extra_since = extra_since or time.perf_counter()
            if time.perf_counter() - extra_since >= time_budget_s:
                return
    finally:
        stamps.detach()


def _profile_of(records: Trace, timed: list[Op], window: _Window, device: str, threads: int,
                batch_size: int, warmup: int, repeats: int) -> Profile:
    """The Profile record of a finished window: medians and quartiles per op, the rest."""
    timings = []
    for op, values in zip(timed, window.per_op, strict=True):
        q1, median, q3 = quartiles(values)
        timings.append(OpTiming(name=op.name, kind=op.kind, block=op.block,
                                median_ms=median, q1_ms=q1, q3_ms=q3))
    hooked_total = statistics.median(window.hooked)
    op_sum = sum(t.median_ms for t in timings)
    rest_q1, _, rest_q3 = quartiles([total - op_sum for total in window.hooked])
    return Profile(
        model=records.model,
        device=device,
        threads=threads,
        batch_size=batch_size,
        input_size=tuple(records.image_shape[1:]),
        warmup=warmup,
        repeats=repeats,
        ops=tuple(timings),
        unattributed_ms=hooked_total - op_sum,
        unattributed_q1_ms=rest_q1,
        unattributed_q3_ms=rest_q3,
        pass_residual_ms=statistics.median(window.residual),
        hooked_total_ms=hooked_total,
        plain_total_ms=statistics.median(window.plain),
        timer="cuda events" if device.startswith("cuda") else "perf_counter_ns",
        noise=window.noise(),
        rounds=window.rounds,
    )


def check_time_budget(seconds: Any) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or \
            not 0 <= seconds < float("inf"):
        raise DenseVisError(f"time budget must be a number of seconds >= 0, got {seconds!r}")
    return float(seconds)


class _Window:
    """The last ``size`` timed rounds: per-op times, hooked and plain totals."""

    def __init__(self, ops: int, size: int) -> None:
        self.size = size
        self.rounds = 0
        self.per_op: list[deque[float]] = [deque(maxlen=size) for _ in range(ops)]
        self.hooked: deque[float] = deque(maxlen=size)
        self.plain: deque[float] = deque(maxlen=size)
        self.residual: deque[float] = deque(maxlen=size)

    @property
    def full(self) -> bool:
        return self.rounds >= self.size

    def add(self, hooked: float, op_ms: Sequence[float], plain: float) -> None:
        self.rounds += 1
        self.hooked.append(hooked)
        self.plain.append(plain)
        self.residual.append(hooked - sum(op_ms))
        for bucket, value in zip(self.per_op, op_ms, strict=True):
            bucket.append(value)

    def noise(self) -> tuple[str, ...]:
        """timing.noise_reasons over the window, with the unattributed time as reported."""
        op_sum = sum(statistics.median(bucket) for bucket in self.per_op)
        unattributed = statistics.median(self.hooked) - op_sum
        return noise_reasons(list(self.hooked), list(self.plain), unattributed)


# --------------------------------------------------------------------------- throughput


def default_batch_sizes(config: DenseNetConfig, cap: int, max_batch: int) -> list[int]:
    """1, 2, 4, ... up to ``max_batch``, stopping before the memory estimate passes ``cap``."""
    sizes = []
    batch = 1
    while batch <= max_batch and estimate_memory(config, batch).total_bytes <= cap:
        sizes.append(batch)
        batch *= 2
    return sizes


def measure_throughput(
    target: Target = "densenet121",
    device: str | torch.device | None = "auto",
    batch_sizes: Sequence[int] | None = None,
    max_memory: int | None = None,
    progress: Progress | None = None,
    warmup: int = 1,
    repeats: int = 3,
    max_batch: int | None = None,
    threads: int | None = None,
) -> list[ThroughputPoint]:
    """Images per second against batch size (median over ``repeats`` plain forward passes).

    Without ``batch_sizes``: 1, 2, 4, ... up to ``max_batch`` (32 on CPU, 256 on accelerators)
    or the largest batch whose analytic memory estimate fits half the free device memory (or
    ``max_memory``). An explicit batch size that would not fit is refused before running.
    """
    check_count("warm-up runs", warmup, 0)
    check_count("repeats", repeats, 1)
    check_threads(threads)
    if batch_sizes is not None:
        batch_sizes = list(batch_sizes)
        if not batch_sizes:
            raise DenseVisError("give at least one batch size")
        for batch in batch_sizes:
            check_batch_size(batch)
    if max_batch is not None:
        check_count("largest batch", max_batch, 1)
    model, placed = _model(target, device, max_memory, 1)
    if not isinstance(model, DenseNet):
        raise DenseVisError("throughput needs a DenseNet config (its memory estimate picks the "
                            "batch sizes); a custom module has none")
    config = model.config
    cap = memory_cap(max_memory, placed)
    if batch_sizes is None:
        limit = max_batch or (32 if placed.type == "cpu" else 256)
        batch_sizes = default_batch_sizes(config, cap, limit)
    for batch in batch_sizes:
        check_memory(config, max_memory, batch, device=placed)
    timer = _Timer(placed)
    points = []
    total = len(batch_sizes) * (warmup + repeats)
    done = 0
    with _measuring(model, threads), _on_device(placed):
        for batch in batch_sizes:
            image = _image(model, batch, (config.in_channels, *config.input_size))

            def forward(image: torch.Tensor = image) -> None:
                model(image)

            times = []
            for run in range(warmup + repeats):
                elapsed = timer.run(forward)
                if run >= warmup:
                    times.append(elapsed)
                done += 1
                if progress is not None:
                    progress(done, total)
            del image
            ms = statistics.median(times)
            points.append(ThroughputPoint(batch_size=batch, images_per_s=batch / (ms / 1e3),
                                          ms_per_batch=ms, spread=spread(times)))
    return points


# --------------------------------------------------------------------------- peak + roofline


def measure_peak(device: str | torch.device | None = "auto", refresh: bool = False
                 ) -> DevicePeak:
    """Best-of-5 float32 matmul GFLOP/s and large-copy bandwidth (GB/s, read + write).

    Measured once per device and cached (``refresh=True`` measures again). Sizes: a 2048²
    matmul and a 256 MiB copy on CPU, 8192² and 1 GiB on CUDA, 4096² and 256 MiB on MPS.
    On CUDA the matmul runs with the TF32 setting the convolutions use
    (``torch.backends.cudnn.allow_tf32``, on by default), so the compute roof is the one the
    convolutions actually face.
    """
    placed = resolve_device(device)
    key = str(placed)
    if key in _PEAKS and not refresh:
        return _PEAKS[key]
    n, elements = {"cuda": (8192, 2**28), "mps": (4096, 2**26)}.get(placed.type, (2048, 2**26))
    timer = _Timer(placed)
    with torch.inference_mode(), _on_device(placed), _conv_tf32(placed):
        matmul_ms = _matmul_ms(timer, placed, n)
        copy_ms, moved = _copy_ms(timer, placed, elements)
    peak = DevicePeak(
        device=key,
        gflops_per_s=2 * n**3 / (matmul_ms / 1e3) / 1e9,
        bandwidth_gb_s=moved / (copy_ms / 1e3) / 1e9,
    )
    _PEAKS[key] = peak
    return peak


@contextmanager
def _conv_tf32(device: torch.device) -> Iterator[None]:
    """Let matmuls use TF32 exactly when cuDNN convolutions may (CUDA only), then restore."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = saved


def _best_ms(timer: _Timer, call: Callable[[], Any], runs: int = 5) -> float:
    """Fastest of ``runs`` timed calls, after one untimed call."""
    timer.run(call)
    return min(timer.run(call) for _ in range(runs))


def _matmul_ms(timer: _Timer, device: torch.device, n: int) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    out = torch.empty(n, n, device=device)
    return _best_ms(timer, lambda: torch.mm(a, b, out=out))


def _copy_ms(timer: _Timer, device: torch.device, elements: int) -> tuple[float, int]:
    """Fastest copy time and the bytes it reads plus writes."""
    src = torch.ones(elements, device=device)
    dst = torch.empty_like(src)
    return _best_ms(timer, lambda: dst.copy_(src)), 2 * src.numel() * src.element_size()


_ELEMENT_SIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


def roofline(trace: Trace, profile: Profile) -> list[RooflinePoint]:
    """Per op: achieved GFLOP/s (roofline FLOPs / median time) and arithmetic intensity.

    FLOPs: the trace's (conv and linear: 2 per MAC). BN, ReLU, pools and concatenations have
    no FLOPs in the trace; for the roofline only they count 1 FLOP per output element (a
    concatenation is pure data movement, so it lands far left, memory-bound). Bytes: the op's
    input, weights and output, each read or written once, at the trace's dtype. The trace and
    the profile must describe the same batch size.
    """
    if trace.batch_size != profile.batch_size:
        raise DenseVisError(
            f"the trace is at batch {trace.batch_size} and the profile at batch "
            f"{profile.batch_size}; trace at the profile's batch size"
        )
    size = _ELEMENT_SIZE.get(trace.dtype, 4)
    timings = {timing.name: timing for timing in profile.ops}
    points = []
    for layer in trace.ops:
        timing = timings.get(layer.name)
        if timing is None and trace.is_custom:
            continue  # functional ops and modules called twice are not timed one by one
        if timing is None:
            raise DenseVisError(f"the profile has no timing for {layer.name}")
        flops = layer.flops if layer.flops > 0 else prod(layer.output_shape)
        moved = size * (prod(layer.input_shape) + layer.params + prod(layer.output_shape))
        seconds = timing.median_ms / 1e3
        points.append(RooflinePoint(
            name=layer.name,
            kind=layer.kind,
            flops=flops,
            bytes=moved,
            gflops_per_s=flops / seconds / 1e9 if seconds > 0 else 0.0,
            intensity=arithmetic_intensity(flops, moved),
            block=layer.block,
            median_ms=timing.median_ms,
        ))
    return points
