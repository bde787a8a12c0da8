"""Text the user types -> values: block lists, input sizes, memory sizes and one-line config
specs ("k=24 blocks=6,12,32,32"). Every reader refuses what it cannot read exactly, with one
clear sentence; nothing is guessed (``6,12,,16`` is refused, not read as three blocks).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from densevis.config import DEFAULT_PRESET, PRESETS, DenseNetConfig, get_config
from densevis.errors import DenseVisError


def parse_blocks(text: str) -> tuple[int, ...]:
    """'6,12,24,16' (or '6 12 24 16') -> (6, 12, 24, 16); an empty entry is refused."""
    raw = str(text).strip()
    example = "like 6,12,24,16"
    if not raw:
        raise DenseVisError(f"block config is empty: give layer counts {example}")
    parts = [part.strip() for part in raw.split(",")] if "," in raw else raw.split()
    if any(not part for part in parts):
        raise DenseVisError(
            f"block config {raw!r} has an empty entry between commas: give layer counts {example}"
        )
    if not all(part.isdigit() for part in parts):
        raise DenseVisError(
            f"block config must be whole numbers separated by commas, {example}; got {raw!r}"
        )
    return tuple(int(part) for part in parts)


def parse_input_size(text: str) -> tuple[int, int]:
    """'224' -> (224, 224); '224x192' -> (224, 192)."""
    parts = str(text).strip().lower().replace("*", "x").replace(",", "x").split("x")
    if not all(part.strip().isdigit() for part in parts) or len(parts) not in (1, 2):
        raise DenseVisError(f"input size must look like 224 or 224x192, got {text!r}")
    values = [int(part) for part in parts]
    return (values[0], values[-1])


_BYTE_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_bytes(text: str) -> int:
    """'8G', '512MiB', '1000000' -> bytes: a finite, positive size."""
    raw = str(text).strip().upper().removesuffix("B").removesuffix("I")
    scale = _BYTE_UNITS.get(raw[-1:], 1)
    number = raw[:-1] if raw[-1:] in _BYTE_UNITS else raw
    try:
        value = float(number)
    except ValueError:
        raise DenseVisError(f"memory size must look like 8G or 512M, got {text!r}") from None
    if not math.isfinite(value) or value * scale < 1 or value * scale > 2**63:
        raise DenseVisError(f"memory size must be a positive size like 8G or 512M, got {text!r}")
    return int(value * scale)


def _number(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            return kind(value)
        except ValueError:
            raise DenseVisError(f"{value!r} is not a number") from None

    return parse


SPEC_KEYS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "k": ("growth_rate", _number(int)),
    "blocks": ("block_config", parse_blocks),
    "init": ("num_init_features", _number(int)),
    "bn": ("bn_size", _number(int)),
    "theta": ("compression", _number(float)),
    "size": ("input_size", parse_input_size),
    "classes": ("num_classes", _number(int)),
    "stem": ("stem", str),
}


def spec_text(config: DenseNetConfig, key: str) -> str:
    """A config field as a spec writes it (``spec_text(c, "blocks")`` -> "6,12,24,16"):
    parse_config_spec reads it back to the same value."""
    value = getattr(config, SPEC_KEYS[key][0])
    if key == "size" and value[0] == value[1]:
        return str(value[0])
    if isinstance(value, tuple):
        return ("x" if key == "size" else ",").join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


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
        except DenseVisError as error:
            raise DenseVisError(f"cannot read {word!r}: {error}") from None
    return config.replace(**changes) if changes else config
