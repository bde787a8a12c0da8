"""A set of configs shown together: what they share, a distinct name for each, and one style
(colour, dash, marker, bar pattern) per config that every figure on a page reuses.

Growth rates alone get the ordered growth-rate scale (small k light, large k dark on light
themes); any other mix gets categorical colours that never repeat within the set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from densevis.config import DenseNetConfig
from densevis.render.registry import BAR_PATTERNS, LINE_DASHES, MARKER_SYMBOLS
from densevis.render.theme import Theme, categorical_colors, get_theme, growth_rate_color

_SHAPE_FIELDS = ("block_config", "num_init_features", "bn_size", "compression", "drop_rate",
                 "num_classes", "input_size", "in_channels", "stem", "memory_efficient")


@dataclass(frozen=True)
class SeriesStyle:
    """How one config is drawn in every figure of a page."""

    color: str
    dash: str  # plotly line dash
    symbol: str  # plotly marker symbol
    pattern: str  # plotly bar pattern shape ("" = solid)


def differ_only_in_k(configs: Sequence[DenseNetConfig]) -> bool:
    """True when the configs have distinct growth rates and agree on everything else."""
    rates = [config.growth_rate for config in configs]
    if len(set(rates)) != len(rates):
        return False
    return all(_same(configs, field) for field in _SHAPE_FIELDS)


def _same(configs: Sequence[DenseNetConfig], field: str) -> bool:
    return len({getattr(config, field) for config in configs}) <= 1


def _size(config: DenseNetConfig) -> str:
    height, width = config.input_size
    return f"{height}×{width}"


def _blocks(config: DenseNetConfig) -> str:
    return "-".join(str(n) for n in config.block_config)


def _spec(config: DenseNetConfig, with_size: bool, extra: bool) -> str:
    words = [f"k={config.growth_rate}", f"blocks={_blocks(config)}"]
    if extra:
        words += [f"init={config.num_init_features}", f"bn={config.bn_size}",
                  f"theta={config.compression:g}", f"{config.stem} stem"]
    text = " ".join(words)
    return f"{text} ({_size(config)})" if with_size else text


def config_names(configs: Sequence[DenseNetConfig]) -> list[str]:
    """A distinct legend name per config: "k=12" when only k differs, else the preset name
    (`densenet169`) or the spec (`k=24 blocks=16-16-16 (32×32)`), never k alone."""
    if differ_only_in_k(configs):
        return [f"k={c.growth_rate}" + (f" ({c.name})" if c.name != "custom" else "")
                for c in configs]
    with_size = not _same(configs, "input_size")
    names = [c.name if c.name != "custom" else _spec(c, with_size, False) for c in configs]
    for extra in (False, True):
        repeated = {name for name in names if names.count(name) > 1}
        names = [_spec(c, with_size, extra) if name in repeated else name
                 for c, name in zip(configs, names, strict=True)]
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # identical configs: number the repeats
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} #{seen[name]}")
    return unique


def shared_description(configs: Sequence[DenseNetConfig]) -> str:
    """What all the configs have in common, e.g. "blocks 6-12-24-16, 224×224, imagenet stem"
    ("" when they share none of these)."""
    if not configs:
        return ""
    first = configs[0]
    parts = []
    if _same(configs, "growth_rate"):
        parts.append(f"k={first.growth_rate}")
    if _same(configs, "block_config"):
        parts.append(f"blocks {_blocks(first)}")
    if _same(configs, "input_size"):
        parts.append(_size(first))
    if _same(configs, "stem"):
        parts.append(f"{first.stem} stem")
    return ", ".join(parts)


def config_styles(configs: Sequence[DenseNetConfig], theme: str | Theme) -> list[SeriesStyle]:
    """One style per config, in order. Only k differs: colours from the growth-rate scale and
    dashes/markers ranked by k; otherwise distinct categorical colours by position."""
    look = get_theme(theme)
    if differ_only_in_k(configs):
        colors = [growth_rate_color(look, c.growth_rate) for c in configs]
        ranks = sorted(range(len(configs)), key=lambda i: configs[i].growth_rate)
        order = [ranks.index(i) for i in range(len(configs))]
    else:
        colors = categorical_colors(look, len(configs))
        order = list(range(len(configs)))
    if not look.marks:  # colour themes: colour alone tells the configs apart
        return [SeriesStyle(color, "solid", "circle", "") for color in colors]
    return [SeriesStyle(color=color, dash=LINE_DASHES[rank % len(LINE_DASHES)],
                        symbol=MARKER_SYMBOLS[rank % len(MARKER_SYMBOLS)],
                        pattern=BAR_PATTERNS[rank % len(BAR_PATTERNS)])
            for color, rank in zip(colors, order, strict=True)]
