"""DenseNet configurations: an immutable, validated config, the presets, and the analytic
checks (input size, memory) that run before anything is allocated.

This module never imports torch, so the app and the renderers can read configs freely.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from densevis.errors import DenseVisError
from densevis.units import format_bytes

Stem = Literal["imagenet", "cifar"]
BYTES_PER_FLOAT = 4


@dataclass(frozen=True)
class DenseNetConfig:
    """Everything that decides a DenseNet's shape (paper vocabulary, torchvision names)."""

    name: str = "custom"  # preset name, or "custom"
    growth_rate: int = 32  # k: channels each dense layer adds
    block_config: tuple[int, ...] = (6, 12, 24, 16)  # dense layers per block
    num_init_features: int = 64  # channels out of the stem (2k in the paper)
    bn_size: int = 4  # bottleneck width factor: 1x1 conv gives bn_size*k; 0 = no bottleneck
    compression: float = 0.5  # theta: a transition keeps floor(theta * C) channels
    drop_rate: float = 0.0  # dropout after each dense layer (training only)
    num_classes: int = 1000  # classifier outputs
    input_size: tuple[int, int] = (224, 224)  # (H, W) of the input image
    in_channels: int = 3  # image channels
    stem: Stem = "imagenet"  # imagenet: 7x7/2 conv + 3x3/2 max pool; cifar: 3x3 conv
    memory_efficient: bool = False  # checkpoint concat+BN+ReLU+1x1 conv (training memory)

    def __post_init__(self) -> None:
        # Accept lists from JSON / widgets, keep tuples inside.
        object.__setattr__(self, "block_config", tuple(self.block_config))
        object.__setattr__(self, "input_size", tuple(self.input_size))
        validate(self)

    def replace(self, **changes: Any) -> DenseNetConfig:
        """A copy with some fields changed; a change to the shape makes it "custom"."""
        if "name" not in changes and any(key != "input_size" for key in changes):
            changes["name"] = "custom"
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["block_config"] = list(self.block_config)
        data["input_size"] = list(self.input_size)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DenseNetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DenseVisError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**data)

    @property
    def num_layers(self) -> int:
        """Dense layers in all blocks."""
        return sum(self.block_config)

    @property
    def label(self) -> str:
        """A short human label, e.g. "densenet121" or "k=12, blocks 6-12-24-16"."""
        if self.name != "custom":
            return self.name
        blocks = "-".join(str(n) for n in self.block_config)
        return f"k={self.growth_rate}, blocks {blocks}"


# --------------------------------------------------------------------------- validation


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(config: DenseNetConfig) -> None:
    """Raise DenseVisError with one clear sentence for the first bad field."""
    if not _is_int(config.growth_rate) or config.growth_rate <= 0:
        raise DenseVisError(f"growth rate must be a positive integer, got {config.growth_rate!r}")
    if not config.block_config:
        raise DenseVisError("block config is empty: give at least one block, e.g. 6,12,24,16")
    for index, layers in enumerate(config.block_config, start=1):
        if not _is_int(layers) or layers <= 0:
            raise DenseVisError(
                f"block {index} must have a positive whole number of layers, got {layers!r}"
            )
    if not _is_int(config.num_init_features) or config.num_init_features <= 0:
        raise DenseVisError(
            f"initial features must be a positive integer, got {config.num_init_features!r}"
        )
    if not _is_int(config.bn_size) or config.bn_size < 0:
        raise DenseVisError(
            f"bn_size must be 0 (no bottleneck) or a positive integer, got {config.bn_size!r}"
        )
    if not isinstance(config.compression, int | float) or not 0 < config.compression <= 1:
        raise DenseVisError(f"compression must be in (0, 1], got {config.compression!r}")
    if not isinstance(config.drop_rate, int | float) or not 0 <= config.drop_rate < 1:
        raise DenseVisError(f"drop rate must be in [0, 1), got {config.drop_rate!r}")
    if not _is_int(config.num_classes) or config.num_classes <= 0:
        raise DenseVisError(f"number of classes must be positive, got {config.num_classes!r}")
    if not _is_int(config.in_channels) or config.in_channels <= 0:
        raise DenseVisError(f"input channels must be positive, got {config.in_channels!r}")
    if config.stem not in ("imagenet", "cifar"):
        raise DenseVisError(f"stem must be 'imagenet' or 'cifar', got {config.stem!r}")
    if len(config.input_size) != 2 or not all(_is_int(v) and v > 0 for v in config.input_size):
        raise DenseVisError(f"input size must be two positive integers, got {config.input_size!r}")
    channels = stage_channels(config)
    for index, (_, out_channels) in enumerate(channels[:-1], start=1):
        if transition_channels(config, out_channels) < 1:
            raise DenseVisError(
                f"compression {config.compression} leaves transition {index} with no channels"
            )
    _check_spatial(config)


def transition_channels(config: DenseNetConfig, channels: int) -> int:
    """Channels a transition keeps: floor(theta * C), as torchvision's C // 2 for theta 0.5."""
    return int(math.floor(config.compression * channels + 1e-9))


def stage_channels(config: DenseNetConfig) -> list[tuple[int, int]]:
    """(in, out) channels of every dense block, from the config (used for checks only)."""
    result = []
    channels = config.num_init_features
    for index, layers in enumerate(config.block_config):
        out = channels + layers * config.growth_rate
        result.append((channels, out))
        last = index == len(config.block_config) - 1
        channels = out if last else transition_channels(config, out)
    return result


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def stage_sizes(config: DenseNetConfig, size: int) -> list[tuple[str, int]]:
    """Spatial size along one axis after each downsampling stage (may reach <= 0)."""
    stages: list[tuple[str, int]] = []
    if config.stem == "imagenet":
        size = _conv_out(size, 7, 2, 3)
        stages.append(("the 7x7 stem convolution", size))
        size = _conv_out(size, 3, 2, 1)
        stages.append(("the stem max pool", size))
    else:
        size = _conv_out(size, 3, 1, 1)
        stages.append(("the stem convolution", size))
    for index in range(1, len(config.block_config)):
        size = _conv_out(size, 2, 2, 0)
        stages.append((f"transition {index}", size))
    return stages


def minimum_input_size(config: DenseNetConfig) -> int:
    """The smallest side length that survives every downsampling stage."""
    size = 1
    while min(s for _, s in stage_sizes(config, size)) < 1:
        size += 1
    return size


def _check_spatial(config: DenseNetConfig) -> None:
    for axis, size in zip(("height", "width"), config.input_size, strict=True):
        for stage, after in stage_sizes(config, size):
            if after < 1:
                raise DenseVisError(
                    f"input {axis} {size} vanishes at {stage}; the minimum for this config is "
                    f"{minimum_input_size(config)}"
                )


# --------------------------------------------------------------------------- memory


@dataclass(frozen=True)
class MemoryEstimate:
    """Analytic bytes for one forward pass (float32), computed before anything is built."""

    params: int
    param_bytes: int
    activation_bytes: int  # every op output kept (naive upper bound), at the batch size given

    @property
    def total_bytes(self) -> int:
        return self.param_bytes + self.activation_bytes


def estimate_memory(config: DenseNetConfig, batch_size: int = 1) -> MemoryEstimate:
    """Parameters and activations from the config alone (no torch), O(layers) time."""
    k, bn = config.growth_rate, config.bn_size
    height, width = config.input_size
    params = 0
    values = 0  # activation values per image
    first = stage_sizes(config, height)
    second = stage_sizes(config, width)
    init = config.num_init_features
    stem_kernel = 7 if config.stem == "imagenet" else 3
    params += config.in_channels * init * stem_kernel**2
    conv_area = first[0][1] * second[0][1]
    values += init * conv_area
    if config.stem == "imagenet":
        params += 2 * init
        values += 2 * init * conv_area  # norm0, relu0
        spatial_index = 1
    else:
        spatial_index = 0
    channels = init
    for block, layers in enumerate(config.block_config):
        area = first[spatial_index][1] * second[spatial_index][1]
        for _ in range(layers):
            if bn:
                params += 2 * channels + channels * bn * k + 2 * bn * k + bn * k * k * 9
                values += area * (3 * channels + 3 * bn * k + k)
            else:
                params += 2 * channels + channels * k * 9
                values += area * (3 * channels + k)
            channels += k
        values += area * channels  # block output concat
        if block < len(config.block_config) - 1:
            out = transition_channels(config, channels)
            params += 2 * channels + channels * out
            values += area * (2 * channels + out)
            spatial_index += 1
            values += first[spatial_index][1] * second[spatial_index][1] * out
            channels = out
    params += 2 * channels + channels * config.num_classes + config.num_classes
    values += 2 * channels * area + channels + config.num_classes
    # BatchNorm running statistics are buffers, not parameters, but still take memory.
    param_bytes = BYTES_PER_FLOAT * params * 2
    return MemoryEstimate(
        params=params,
        param_bytes=param_bytes,
        activation_bytes=BYTES_PER_FLOAT * values * batch_size,
    )


def available_memory_bytes() -> int:
    """Memory the OS says is available now (MemAvailable), or total RAM as a fallback."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def default_memory_cap() -> int:
    """Half of the memory available right now."""
    return available_memory_bytes() // 2


def check_memory(
    config: DenseNetConfig, max_bytes: int | None = None, batch_size: int = 1
) -> MemoryEstimate:
    """Refuse a config whose parameters plus activations would exceed the cap."""
    estimate = estimate_memory(config, batch_size)
    cap = default_memory_cap() if max_bytes is None else max_bytes
    if estimate.total_bytes > cap:
        source = "half the free memory" if max_bytes is None else "--max-memory"
        raise DenseVisError(
            f"this config needs about {format_bytes(estimate.total_bytes)} "
            f"({format_bytes(estimate.param_bytes)} of weights, "
            f"{format_bytes(estimate.activation_bytes)} of activations at batch {batch_size}), "
            f"over the {format_bytes(cap)} cap ({source}); make it smaller or raise the cap"
        )
    return estimate


# --------------------------------------------------------------------------- parsing


def parse_blocks(text: str) -> tuple[int, ...]:
    """'6,12,24,16' -> (6, 12, 24, 16), with a clear message for anything else."""
    parts = [part.strip() for part in str(text).replace(" ", ",").split(",") if part.strip()]
    if not parts:
        raise DenseVisError("block config is empty: give layer counts like 6,12,24,16")
    try:
        return tuple(int(part) for part in parts)
    except ValueError:
        raise DenseVisError(
            f"block config must be whole numbers separated by commas, like 6,12,24,16; got {text!r}"
        ) from None


def parse_input_size(text: str) -> tuple[int, int]:
    """'224' -> (224, 224); '224x192' -> (224, 192)."""
    parts = str(text).lower().replace("*", "x").replace(",", "x").split("x")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise DenseVisError(f"input size must look like 224 or 224x192, got {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2:
        raise DenseVisError(f"input size must look like 224 or 224x192, got {text!r}")
    return values[0], values[1]


SPEC_KEYS = {
    "k": ("growth_rate", int),
    "blocks": ("block_config", parse_blocks),
    "init": ("num_init_features", int),
    "bn": ("bn_size", int),
    "theta": ("compression", float),
    "size": ("input_size", parse_input_size),
    "classes": ("num_classes", int),
}


def parse_config_spec(text: str, base: DenseNetConfig | None = None) -> DenseNetConfig:
    """'densenet169' or 'k=24 blocks=6,12,32,32 theta=0.5' (fields over a preset, or over
    ``base``, or over densenet121) -> a validated config."""
    words = str(text).replace(";", " ").split()
    if not words:
        raise DenseVisError("empty config: give a preset name or fields like k=24 blocks=6,12")
    config = base or PRESETS[DEFAULT_PRESET]
    if "=" not in words[0]:
        config = get_config(words.pop(0))
    changes: dict[str, Any] = {}
    for word in words:
        key, _, value = word.partition("=")
        if key not in SPEC_KEYS or not value:
            known = ", ".join(f"{name}=" for name in SPEC_KEYS)
            raise DenseVisError(f"cannot read {word!r}: use {known}")
        field_name, parse = SPEC_KEYS[key]
        try:
            changes[field_name] = parse(value)
        except ValueError:
            raise DenseVisError(f"cannot read {word!r}: {value!r} is not a number") from None
    return config.replace(**changes) if changes else config


def parse_bytes(text: str) -> int:
    """'8G', '512MiB', '1000000' -> bytes."""
    raw = str(text).strip().upper().replace("IB", "").replace("B", "")
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    try:
        if raw and raw[-1] in scale:
            return int(float(raw[:-1]) * scale[raw[-1]])
        return int(float(raw))
    except ValueError:
        raise DenseVisError(f"memory size must look like 8G or 512M, got {text!r}") from None


# --------------------------------------------------------------------------- presets


def _imagenet(name: str, k: int, blocks: tuple[int, ...], init: int) -> DenseNetConfig:
    return DenseNetConfig(name=name, growth_rate=k, block_config=blocks, num_init_features=init)


PRESETS: dict[str, DenseNetConfig] = {
    "densenet121": _imagenet("densenet121", 32, (6, 12, 24, 16), 64),
    "densenet169": _imagenet("densenet169", 32, (6, 12, 32, 32), 64),
    "densenet201": _imagenet("densenet201", 32, (6, 12, 48, 32), 64),
    "densenet161": _imagenet("densenet161", 48, (6, 12, 36, 24), 96),
    "densenet264": _imagenet("densenet264", 32, (6, 12, 64, 48), 64),
    "densenet-bc-100": DenseNetConfig(
        name="densenet-bc-100",
        growth_rate=12,
        block_config=(16, 16, 16),
        num_init_features=24,
        bn_size=4,
        compression=0.5,
        num_classes=10,
        input_size=(32, 32),
        stem="cifar",
    ),
}
DEFAULT_PRESET = "densenet121"


def get_config(name_or_config: str | DenseNetConfig, **overrides: Any) -> DenseNetConfig:
    """A preset by name (or a config as is), with optional field overrides."""
    if isinstance(name_or_config, DenseNetConfig):
        config = name_or_config
    else:
        key = str(name_or_config).strip().lower().replace("_", "-")
        key = {"densenet-bc100": "densenet-bc-100", "densenetbc100": "densenet-bc-100"}.get(
            key, key
        )
        if key not in PRESETS:
            raise DenseVisError(
                f"unknown model {name_or_config!r}; known models: {', '.join(PRESETS)}"
            )
        config = PRESETS[key]
    overrides = {key: value for key, value in overrides.items() if value is not None}
    return config.replace(**overrides) if overrides else config
