"""DenseNet configurations: an immutable, validated config, the presets, and the analytic
figures (minimum input size, memory estimate) that run before anything is allocated.

Every check here takes time bounded by the number of blocks (closed forms, no loops over
pixels or layers), so any input is answered in well under 50 ms. Parsing text into configs
lives in ``densevis.spec``, the memory cap in ``densevis.memory_cap``.

This module never imports torch, so the app and the renderers can read configs freely.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

from densevis.errors import DenseVisError

Stem = Literal["imagenet", "cifar"]
BYTES_PER_FLOAT = 4
BYTES_PER_INT64 = 8  # BatchNorm's num_batches_tracked


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
        for name in ("block_config", "input_size"):
            value = getattr(self, name)
            if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
                raise DenseVisError(f"{name} must be a list of integers, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        validate(self)

    def replace(self, **changes: Any) -> DenseNetConfig:
        """A copy with some fields changed; a change to the shape makes it "custom"."""
        _check_fields(changes)
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
        if not isinstance(data, dict):
            raise DenseVisError(f"a config must be a mapping of fields, got {type(data).__name__}")
        _check_fields(data)
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


def _check_fields(data: dict[str, Any]) -> None:
    known = {f.name for f in dataclasses.fields(DenseNetConfig)}
    unknown = sorted(str(key) for key in set(data) - known)
    if unknown:
        raise DenseVisError(f"unknown config field(s): {', '.join(unknown)}")

MAX_BLOCKS = 12  # 12 blocks already need an 8189-pixel input with the imagenet stem
MAX_LAYERS_PER_BLOCK = 1000  # DenseNet-264's largest block has 64
MAX_LAYERS = 2000  # dense layers in all blocks


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_blocks(blocks: tuple[Any, ...]) -> None:
    if not blocks:
        raise DenseVisError("block config is empty: give at least one block, e.g. 6,12,24,16")
    if len(blocks) > MAX_BLOCKS:
        raise DenseVisError(
            f"{len(blocks)} dense blocks is more than densevis handles (at most {MAX_BLOCKS})"
        )
    for index, layers in enumerate(blocks, start=1):
        if not _is_int(layers) or layers <= 0:
            raise DenseVisError(
                f"block {index} must have a positive whole number of layers, got {layers!r}"
            )
        if layers > MAX_LAYERS_PER_BLOCK:
            raise DenseVisError(
                f"block {index} has {layers} dense layers; at most {MAX_LAYERS_PER_BLOCK} "
                "per block"
            )
    if sum(blocks) > MAX_LAYERS:
        raise DenseVisError(
            f"{sum(blocks)} dense layers in all blocks; at most {MAX_LAYERS} in all"
        )


def validate(config: DenseNetConfig) -> None:
    """Raise DenseVisError with one clear sentence for the first bad field."""
    if not _is_int(config.growth_rate) or config.growth_rate <= 0:
        raise DenseVisError(f"growth rate must be a positive integer, got {config.growth_rate!r}")
    _check_blocks(config.block_config)
    if not _is_int(config.num_init_features) or config.num_init_features <= 0:
        raise DenseVisError(
            f"initial features must be a positive integer, got {config.num_init_features!r}"
        )
    if not _is_int(config.bn_size) or config.bn_size < 0:
        raise DenseVisError(
            f"bn_size must be 0 (no bottleneck) or a positive integer, got {config.bn_size!r}"
        )
    if not _is_number(config.compression) or not 0 < config.compression <= 1:
        raise DenseVisError(f"compression must be in (0, 1], got {config.compression!r}")
    if not _is_number(config.drop_rate) or not 0 <= config.drop_rate < 1:
        raise DenseVisError(f"drop rate must be in [0, 1), got {config.drop_rate!r}")
    if not _is_int(config.num_classes) or config.num_classes <= 0:
        raise DenseVisError(f"number of classes must be positive, got {config.num_classes!r}")
    if not _is_int(config.in_channels) or config.in_channels <= 0:
        raise DenseVisError(f"input channels must be positive, got {config.in_channels!r}")
    if config.stem not in ("imagenet", "cifar"):
        raise DenseVisError(f"stem must be 'imagenet' or 'cifar', got {config.stem!r}")
    if len(config.input_size) != 2 or not all(_is_int(v) and v > 0 for v in config.input_size):
        raise DenseVisError(f"input size must be two positive integers, got {config.input_size!r}")
    if not isinstance(config.memory_efficient, bool):
        raise DenseVisError(
            f"memory_efficient must be True or False, got {config.memory_efficient!r}"
        )
    channels = stage_channels(config)
    for index, (_, out_channels) in enumerate(channels[:-1], start=1):
        if transition_channels(config, out_channels) < 1:
            raise DenseVisError(
                f"compression {config.compression} leaves transition {index} with no channels"
            )
    _check_spatial(config)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1
                     ) -> int:
    """Output length of a convolution or pooling window (floor mode), as torch computes it."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _smallest_input(output: int, kernel: int, stride: int, padding: int) -> int:
    """The smallest input length whose window output is at least ``output`` (>= 1)."""
    return max(1, (output - 1) * stride + kernel - 2 * padding)


def downsampling_stages(config: DenseNetConfig) -> list[tuple[str, int, int, int]]:
    """(name, kernel, stride, padding) of every window that changes the spatial size."""
    if config.stem == "imagenet":
        stages = [("the 7x7 stem convolution", 7, 2, 3), ("the stem max pool", 3, 2, 1)]
    else:
        stages = [("the stem convolution", 3, 1, 1)]
    stages += [(f"transition {index}", 2, 2, 0) for index in range(1, len(config.block_config))]
    return stages


def stage_sizes(config: DenseNetConfig, size: int) -> list[tuple[str, int]]:
    """Spatial size along one axis after each downsampling stage (may reach <= 0)."""
    result = []
    for name, kernel, stride, padding in downsampling_stages(config):
        size = conv_output_size(size, kernel, stride, padding)
        result.append((name, size))
    return result


def minimum_input_size(config: DenseNetConfig) -> int:
    """The smallest side length that survives every downsampling stage (closed form: each
    stage is inverted once, from the last to the first)."""
    size = 1
    for _, kernel, stride, padding in reversed(downsampling_stages(config)):
        size = _smallest_input(size, kernel, stride, padding)
    return size


def probe_config(config: DenseNetConfig) -> DenseNetConfig:
    """The config at the smallest square input that survives every downsampling stage: what
    the tracer runs (its memory is the weights plus one probe-sized pass)."""
    side = minimum_input_size(config)
    return config.replace(input_size=(side, side))


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
    param_bytes: int  # the parameters' floats
    buffer_bytes: int  # BatchNorm running mean + variance (floats), num_batches_tracked (int64)
    activation_bytes: int  # every op output kept (naive upper bound), at the batch size given

    @property
    def state_bytes(self) -> int:
        """Bytes of the weights as stored: the state_dict, parameters plus buffers."""
        return self.param_bytes + self.buffer_bytes

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + self.activation_bytes


@dataclass
class _Tally:
    """Running sums of one network walk: parameters, activation values per image, and
    BatchNorm layers with their channels (each channel has a running mean and variance)."""

    params: int = 0
    values: int = 0
    norms: int = 0
    norm_channels: int = 0

    def norm(self, channels: int, count: int = 1) -> None:
        """``count`` BatchNorms over ``channels`` channels in all: weight and bias."""
        self.params += 2 * channels
        self.norms += count
        self.norm_channels += channels


def _block_cost(tally: _Tally, channels: int, layers: int, k: int, bn: int, area: int) -> None:
    """Add one dense block's layers (closed form) at ``area`` pixels.

    Layer i (0-based) reads c_i = channels + i k; the sums over i use
    sum c_i = L channels + k L (L - 1) / 2.
    """
    read = layers * channels + k * layers * (layers - 1) // 2
    tally.norm(read, layers)  # norm1 (norm2 without a bottleneck) of every layer
    if bn:
        tally.norm(layers * bn * k, layers)  # norm2 over the bottleneck's bn*k channels
        tally.params += read * bn * k + layers * 9 * bn * k * k
        tally.values += area * (3 * read + layers * (3 * bn * k + k))
    else:
        tally.params += 9 * read * k
        tally.values += area * (3 * read + layers * k)


def estimate_memory(config: DenseNetConfig, batch_size: int = 1) -> MemoryEstimate:
    """Parameters, buffers and activations from the config alone (no torch), in time bounded
    by the number of blocks. Parameters and buffers are exact (``state_dict`` bytes)."""
    k, bn = config.growth_rate, config.bn_size
    first = stage_sizes(config, config.input_size[0])
    second = stage_sizes(config, config.input_size[1])
    init = config.num_init_features
    stem_kernel = 7 if config.stem == "imagenet" else 3
    tally = _Tally(params=config.in_channels * init * stem_kernel**2)
    area = first[0][1] * second[0][1]
    tally.values = init * area  # activation values per image
    spatial_index = 0
    if config.stem == "imagenet":
        tally.norm(init)
        tally.values += 2 * init * area  # norm0, relu0
        spatial_index = 1
    channels = init
    for block, layers in enumerate(config.block_config):
        area = first[spatial_index][1] * second[spatial_index][1]
        _block_cost(tally, channels, layers, k, bn, area)
        channels += layers * k
        tally.values += area * channels  # block output concat
        if block < len(config.block_config) - 1:
            out = transition_channels(config, channels)
            tally.norm(channels)
            tally.params += channels * out
            tally.values += area * (2 * channels + out)
            spatial_index += 1
            tally.values += first[spatial_index][1] * second[spatial_index][1] * out
            channels = out
    tally.norm(channels)  # norm5
    tally.params += channels * config.num_classes + config.num_classes
    tally.values += 2 * channels * area + channels + config.num_classes
    return MemoryEstimate(
        params=tally.params,
        param_bytes=BYTES_PER_FLOAT * tally.params,
        buffer_bytes=BYTES_PER_FLOAT * 2 * tally.norm_channels + BYTES_PER_INT64 * tally.norms,
        activation_bytes=BYTES_PER_FLOAT * tally.values * batch_size,
    )


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


def same_except(first: DenseNetConfig, second: DenseNetConfig,
                ignoring: tuple[str, ...] = ()) -> bool:
    """Whether two configs are equal in every field but ``name`` and those in ``ignoring``."""
    return all(getattr(first, field.name) == getattr(second, field.name)
               for field in dataclasses.fields(first)
               if field.name != "name" and field.name not in ignoring)


def matching_preset(config: DenseNetConfig, ignoring: tuple[str, ...] = ()) -> str | None:
    """The name of the preset the config equals, the fields in ``ignoring`` aside."""
    return next((name for name, preset in PRESETS.items()
                 if same_except(preset, config, ignoring)), None)


def named(config: DenseNetConfig) -> DenseNetConfig:
    """The config named after the preset it equals, else "custom"."""
    return dataclasses.replace(config, name=matching_preset(config) or "custom")
