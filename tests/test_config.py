"""Configs: presets, validation messages, parsing and the analytic memory check."""

from __future__ import annotations

import pytest

from densevis.config import (
    PRESETS,
    DenseNetConfig,
    check_memory,
    estimate_memory,
    get_config,
    minimum_input_size,
    parse_blocks,
    parse_bytes,
    parse_input_size,
)
from densevis.errors import DenseVisError


def test_presets_match_the_papers_tables() -> None:
    assert PRESETS["densenet121"].block_config == (6, 12, 24, 16)
    assert PRESETS["densenet169"].block_config == (6, 12, 32, 32)
    assert PRESETS["densenet201"].block_config == (6, 12, 48, 32)
    assert PRESETS["densenet264"].block_config == (6, 12, 64, 48)
    assert (PRESETS["densenet161"].growth_rate, PRESETS["densenet161"].num_init_features) == (
        48, 96)
    bc = PRESETS["densenet-bc-100"]
    assert (bc.block_config, bc.growth_rate, bc.num_init_features) == ((16, 16, 16), 12, 24)
    assert (bc.stem, bc.input_size, bc.num_classes, bc.compression) == (
        "cifar", (32, 32), 10, 0.5)


def test_config_is_immutable_and_replace_marks_custom() -> None:
    config = get_config("densenet121")
    with pytest.raises(AttributeError):
        config.growth_rate = 12  # type: ignore[misc]
    changed = config.replace(growth_rate=12)
    assert changed.name == "custom" and changed.growth_rate == 12
    assert config.replace(input_size=(192, 192)).name == "densenet121"
    assert DenseNetConfig.from_dict(changed.to_dict()) == changed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"growth_rate": 0}, "growth rate must be a positive integer, got 0"),
        ({"growth_rate": -3}, "growth rate must be a positive integer"),
        ({"block_config": ()}, "block config is empty"),
        ({"block_config": (6, 0)}, "block 2 must have a positive whole number of layers"),
        ({"bn_size": -1}, "bn_size must be 0 (no bottleneck) or a positive integer"),
        ({"compression": 0}, "compression must be in (0, 1], got 0"),
        ({"compression": 1.5}, "compression must be in (0, 1], got 1.5"),
        ({"num_classes": 0}, "number of classes must be positive"),
        ({"input_size": (16, 16)}, "input height 16 vanishes at transition 3; the minimum "
                                   "for this config is 29"),
    ],
)
def test_bad_values_get_one_clear_sentence(changes: dict, message: str) -> None:
    with pytest.raises(DenseVisError) as error:
        get_config("densenet121", **changes)
    assert message in str(error.value)


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(DenseVisError, match="known models: densenet121, densenet169"):
        get_config("resnet50")


def test_minimum_input_size_survives_and_one_less_does_not() -> None:
    config = get_config("densenet121")
    side = minimum_input_size(config)
    assert side == 29
    config.replace(input_size=(side, side))
    with pytest.raises(DenseVisError):
        config.replace(input_size=(side - 1, side))
    assert minimum_input_size(get_config("densenet-bc-100")) == 4


def test_parsers() -> None:
    assert parse_blocks("6,12,24,16") == (6, 12, 24, 16)
    assert parse_blocks(" 6, 12 ") == (6, 12)
    assert parse_input_size("224") == (224, 224)
    assert parse_input_size("224x192") == (224, 192)
    assert parse_bytes("8G") == 8 * 1024**3
    assert parse_bytes("512MiB") == 512 * 1024**2
    for bad in ("", "a,b", "6;12"):
        with pytest.raises(DenseVisError):
            parse_blocks(bad)
    with pytest.raises(DenseVisError):
        parse_input_size("big")


def test_analytic_parameter_estimate_is_exact_for_the_presets() -> None:
    # The analytic count is used before anything is built; it must agree with torchvision.
    assert estimate_memory(get_config("densenet121")).params == 7_978_856
    assert estimate_memory(get_config("densenet161")).params == 28_681_000


def test_huge_config_is_refused_from_the_estimate() -> None:
    huge = get_config("densenet121", growth_rate=2000, block_config=(100, 100, 100))
    with pytest.raises(DenseVisError, match="this config needs about .* TiB"):
        check_memory(huge)
    with pytest.raises(DenseVisError, match=r"over the 1\.0 MiB cap \(--max-memory\)"):
        check_memory(get_config("densenet121"), max_bytes=1024**2)


def test_config_specs() -> None:
    from densevis.config import parse_config_spec

    assert parse_config_spec("densenet169") == get_config("densenet169")
    spec = parse_config_spec("k=24 blocks=6,12,32,32 theta=0.5 bn=0")
    assert (spec.growth_rate, spec.block_config, spec.bn_size) == (24, (6, 12, 32, 32), 0)
    assert parse_config_spec("densenet-bc-100 k=24").stem == "cifar"
    for bad, message in (("", "empty config"), ("k=0", "growth rate must be"),
                         ("depth=3", "cannot read 'depth=3'"), ("k=x", "'x' is not a number"),
                         ("resnet", "unknown model 'resnet'")):
        with pytest.raises(DenseVisError, match=message):
            parse_config_spec(bad)
