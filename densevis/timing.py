"""Plain, immutable records of measured time: per-layer latency, throughput, roofline points.

No torch here (like ``densevis.records``): ``densevis.profiler`` measures, these records carry
the numbers to tables, charts and coloured diagrams.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

UNATTRIBUTED = "unattributed"  # name of the row for time no hook could attribute
SPREAD_LIMIT = 0.10  # a pass-time IQR over 10% of the median is noise
OVERHEAD_RANGE = (-0.05, 0.30)  # hooks cannot make a pass faster, nor 30% slower on CPU/CUDA
UNATTRIBUTED_LIMIT = 0.5  # time between hooked ops above half the pass is not glue


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(q1, median, q3); a single value is its own quartiles."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def spread(values: Sequence[float]) -> float:
    """IQR / median: 0 for identical values."""
    q1, median, q3 = quartiles(values)
    return (q3 - q1) / median if median > 0 else 0.0


def noise_reasons(hooked_ms: Sequence[float], plain_ms: Sequence[float],
                  unattributed_ms: float) -> tuple[str, ...]:
    """Why a set of passes cannot be trusted (empty when it can): the end-to-end times spread,
    a hook overhead outside the plausible range, or most of the pass unattributed."""
    reasons = []
    hooked, plain = statistics.median(hooked_ms), statistics.median(plain_ms)
    for name, values in (("hooked", hooked_ms), ("plain", plain_ms)):
        if spread(values) > SPREAD_LIMIT:
            reasons.append(f"{name} pass times spread {spread(values):.0%} of their median "
                           f"(IQR; stable under {SPREAD_LIMIT:.0%})")
    overhead = hooked / plain - 1 if plain > 0 else 0.0
    low, high = OVERHEAD_RANGE
    if not low <= overhead <= high:
        reasons.append(f"hook overhead {overhead:+.0%} is outside the plausible {low:+.0%} to "
                       f"{high:+.0%}")
    if hooked > 0 and unattributed_ms > UNATTRIBUTED_LIMIT * hooked:
        reasons.append(f"unattributed {unattributed_ms:.1f} ms is over half the pass")
    return tuple(reasons)


@dataclass(frozen=True)
class OpTiming:
    """One leaf op's latency over the measured passes (milliseconds)."""

    name: str  # the trace's op name (module path), e.g. features.denseblock1.denselayer1.conv1
    kind: str  # the trace's kind: conv, batchnorm, relu, concat, ...
    block: int | None  # dense block number, None outside blocks
    median_ms: float
    q1_ms: float  # first quartile
    q3_ms: float  # third quartile

    @property
    def iqr_ms(self) -> float:
        """Inter-quartile range."""
        return self.q3_ms - self.q1_ms


@dataclass(frozen=True)
class Profile:
    """Per-layer latency of one model on one device, with the instrument's own check.

    The identity ``sum(layer medians) + unattributed_ms == hooked_total_ms`` holds exactly:
    ``hooked_total_ms`` is the median over passes of the hooked end-to-end time and
    ``unattributed_ms`` is defined as that median minus the sum of the per-layer medians (time
    spent between hooked ops: Python glue, list building for the concatenations, flatten, and
    the hooks themselves). Since the layer medians are constants, this is also the median over
    passes of (pass total - sum of layer medians); ``unattributed_q1_ms``/``unattributed_q3_ms``
    are that quantity's quartiles, so the row's median sits inside its own IQR.

    ``pass_residual_ms`` is the median over passes of (pass total - that pass's own per-layer
    sum): the time strictly between hooked ops. On a quiet machine it is close to
    ``unattributed_ms``; the gap between them grows with timing noise (a sum of medians is less
    than the median of sums when the per-op times are right-skewed).
    """

    model: str  # the trace's model label
    device: str
    threads: int  # torch.get_num_threads() during the measurement
    batch_size: int
    input_size: tuple[int, int]
    warmup: int
    repeats: int
    ops: tuple[OpTiming, ...]  # in execution (trace) order
    unattributed_ms: float
    unattributed_q1_ms: float
    unattributed_q3_ms: float
    pass_residual_ms: float  # median of (pass total - that pass's per-layer sum)
    hooked_total_ms: float  # median end-to-end forward time with the timing hooks attached
    plain_total_ms: float  # median end-to-end forward time without hooks
    timer: str  # "perf_counter_ns" or "cuda events"
    noise: tuple[str, ...] = ()  # why the measured window is not stable (empty: stable)
    rounds: int = 0  # timed rounds run in all (the last ``repeats`` are kept); 0 = repeats

    @property
    def verdict(self) -> str:
        """"stable" or "noisy", from the spread of pass times and the plausibility of the
        hook overhead and of the unattributed time."""
        return "noisy" if self.noise else "stable"

    @property
    def verdict_text(self) -> str:
        """One line for people: the verdict and why."""
        ran = self.rounds or self.repeats
        if not self.noise:
            return f"stable: the last {self.repeats} of {ran} rounds agree"
        never = f"; never settled in {ran} rounds" if ran > self.repeats else ""
        return f"noisy{never}: " + "; ".join(self.noise)

    @property
    def overhead(self) -> float:
        """Hook overhead as a fraction: hooked / plain - 1 (0.05 = 5% slower with hooks)."""
        return self.hooked_total_ms / self.plain_total_ms - 1 if self.plain_total_ms else 0.0

    @property
    def op_sum_ms(self) -> float:
        """Sum of the per-op medians."""
        return sum(layer.median_ms for layer in self.ops)

    def latency_ms(self, include_unattributed: bool = False) -> dict[str, float]:
        """Op name -> median milliseconds, keyed like ``Trace.ops`` (for colour-by-latency).

        With ``include_unattributed`` the residual is added under the key ``"unattributed"``.
        """
        result = {layer.name: layer.median_ms for layer in self.ops}
        if include_unattributed:
            result[UNATTRIBUTED] = self.unattributed_ms
        return result

    def op(self, name: str) -> OpTiming:
        """An op's timing by name (with or without the 'features.' prefix)."""
        for layer in self.ops:
            if name in (layer.name, layer.name.removeprefix("features.")):
                return layer
        raise KeyError(name)

    def rows(self) -> list[dict[str, Any]]:
        """One row per op plus the unattributed row; ``share`` is of the hooked total."""
        total = self.hooked_total_ms or 1.0
        rows = [
            {**asdict(layer), "iqr_ms": layer.iqr_ms, "share": layer.median_ms / total}
            for layer in self.ops
        ]
        rows.append({
            "name": UNATTRIBUTED, "kind": UNATTRIBUTED, "block": None,
            "median_ms": self.unattributed_ms, "q1_ms": self.unattributed_q1_ms,
            "q3_ms": self.unattributed_q3_ms,
            "iqr_ms": self.unattributed_q3_ms - self.unattributed_q1_ms,
            "share": self.unattributed_ms / total,
        })
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``densevis profile --format json``."""
        return {
            "model": self.model,
            "device": self.device,
            "threads": self.threads,
            "batch_size": self.batch_size,
            "input_size": list(self.input_size),
            "warmup": self.warmup,
            "repeats": self.repeats,
            "timer": self.timer,
            "hooked_total_ms": self.hooked_total_ms,
            "plain_total_ms": self.plain_total_ms,
            "overhead": self.overhead,
            "op_sum_ms": self.op_sum_ms,
            "unattributed_ms": self.unattributed_ms,
            "unattributed_q1_ms": self.unattributed_q1_ms,
            "unattributed_q3_ms": self.unattributed_q3_ms,
            "pass_residual_ms": self.pass_residual_ms,
            "verdict": self.verdict,
            "noise": list(self.noise),
            "rounds": self.rounds,
            "ops": [asdict(layer) for layer in self.ops],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        """Inverse of to_dict."""
        fields = {key: value for key, value in data.items()
                  if key not in ("overhead", "op_sum_ms", "ops", "input_size", "verdict",
                                 "noise")}
        return cls(
            **fields,
            noise=tuple(data.get("noise", ())),
            input_size=tuple(data["input_size"]),
            ops=tuple(OpTiming(**op) for op in data["ops"]),
        )

    def to_dataframe(self) -> pd.DataFrame:
        """Per-op rows plus the "unattributed" row, whose medians add up to the hooked total."""
        import pandas as pd

        return pd.DataFrame(self.rows()).astype({"block": "Int64"})


@dataclass(frozen=True)
class ThroughputPoint:
    """Images per second at one batch size (median over passes)."""

    batch_size: int
    images_per_s: float
    ms_per_batch: float  # median
    spread: float = 0.0  # IQR / median of the pass times; over SPREAD_LIMIT is noise

    @property
    def noisy(self) -> bool:
        return self.spread > SPREAD_LIMIT


@dataclass(frozen=True)
class DevicePeak:
    """What the device can do at best: a large matmul and a large copy, measured once."""

    device: str
    gflops_per_s: float  # float32 matmul
    bandwidth_gb_s: float  # bytes read + written per second by a large copy, in GB/s (1e9)

    @property
    def ridge(self) -> float:
        """Arithmetic intensity (FLOP/byte) where the memory roof meets the compute roof."""
        return self.gflops_per_s / self.bandwidth_gb_s if self.bandwidth_gb_s else 0.0

    def roof(self, intensity: float) -> float:
        """Attainable GFLOP/s at this intensity: min(peak, bandwidth * intensity)."""
        return min(self.gflops_per_s, self.bandwidth_gb_s * intensity)

    def bound(self, intensity: float) -> str:
        """'compute' right of the ridge point, 'memory' left of it."""
        return "compute" if intensity >= self.ridge else "memory"


@dataclass(frozen=True)
class RooflinePoint:
    """One op on the roofline: achieved GFLOP/s against FLOPs per byte moved."""

    name: str
    kind: str
    flops: int  # roofline FLOPs (see densevis.profiler.roofline for the convention)
    bytes: int  # inputs + weights + outputs
    gflops_per_s: float  # achieved: flops / median time
    intensity: float  # flops / bytes
    block: int | None = None
    median_ms: float = 0.0
