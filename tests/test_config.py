"""Configs: presets, validation messages, parsing and the analytic memory check."""

from __future__ import annotations

import pytest

from densevis.config import (
    PRESETS,
    DenseNetConfig,
    estimate_memory,
    get_config,
    minimum_input_size,
)
from densevis.errors import DenseVisError
from densevis.memory_cap import check_memory
from densevis.spec import parse_blocks, parse_bytes, parse_input_size


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
    with pytest.raises(DenseVisError, match=r"over the 1 MiB cap \(--max-memory\)"):
        check_memory(get_config("densenet121"), max_memory=1024**2)


def test_config_specs() -> None:
    from densevis.spec import parse_config_spec

    assert parse_config_spec("densenet169") == get_config("densenet169")
    spec = parse_config_spec("k=24 blocks=6,12,32,32 theta=0.5 bn=0")
    assert (spec.growth_rate, spec.block_config, spec.bn_size) == (24, (6, 12, 32, 32), 0)
    assert parse_config_spec("densenet-bc-100 k=24").stem == "cifar"
    for bad, message in (("", "empty config"), ("k=0", "growth rate must be"),
                         ("depth=3", "cannot read 'depth=3'"), ("k=x", "'x' is not a number"),
                         ("resnet", "unknown model 'resnet'")):
        with pytest.raises(DenseVisError, match=message):
            parse_config_spec(bad)


def _brute_minimum(config: DenseNetConfig) -> int:
    """The smallest side by stepping one pixel at a time (the oracle for the closed form)."""
    from densevis.config import stage_sizes

    size = 1
    while min(after for _, after in stage_sizes(config, size)) < 1:
        size += 1
    return size


@pytest.mark.parametrize("blocks", [(1,), (1, 1), (2, 3, 4), (1,) * 6, (1,) * 9])
@pytest.mark.parametrize("stem", ["imagenet", "cifar"])
def test_closed_form_minimum_input_matches_stepping(blocks: tuple[int, ...], stem: str) -> None:
    config = DenseNetConfig(block_config=blocks, stem=stem, input_size=(4096, 4096))
    side = minimum_input_size(config)
    assert side == _brute_minimum(config)
    transitions = len(blocks) - 1
    assert side == (2 ** (transitions + 2) - 3 if stem == "imagenet" else 2**transitions)


def _looped_estimate(config: DenseNetConfig) -> tuple[int, int]:
    """Parameters and per-image activation values one layer at a time (the old loop)."""
    k, bn, channels = config.growth_rate, config.bn_size, config.num_init_features
    params = values = 0
    for layers in config.block_config:
        for _ in range(layers):
            if bn:
                params += 2 * channels + channels * bn * k + 2 * bn * k + bn * k * k * 9
                values += 3 * channels + 3 * bn * k + k
            else:
                params += 2 * channels + channels * k * 9
                values += 3 * channels + k
            channels += k
        channels = int(config.compression * channels + 1e-9)
    return params, values


@pytest.mark.parametrize("changes", [{}, {"bn_size": 0}, {"growth_rate": 7, "compression": 0.3},
                                     {"block_config": (900, 900)}])
def test_closed_form_estimate_matches_layer_by_layer(changes: dict) -> None:
    """The dense blocks' parameters and activation values per pixel, closed form, equal the
    sums taken one layer at a time."""
    from densevis.config import _block_cost, _Tally

    config = get_config("densenet121", **changes)
    tally, channels = _Tally(), config.num_init_features
    for layers in config.block_config:
        _block_cost(tally, channels, layers, config.growth_rate, config.bn_size, area=1)
        channels = int(config.compression * (channels + layers * config.growth_rate) + 1e-9)
    assert (tally.params, tally.values) == _looped_estimate(config)


@pytest.mark.parametrize(("blocks", "message"), [
    ("1," * 29 + "1", "30 dense blocks is more than densevis handles (at most 12)"),
    ("99999999999999999999999", "block 1 has 99999999999999999999999 dense layers; at most 1000"),
    ("6,1001", "block 2 has 1001 dense layers; at most 1000 per block"),
    ("1000,1000,1", "2001 dense layers in all blocks; at most 2000 in all"),
    ("6,12,,16", "'6,12,,16' has an empty entry between commas"),
    ("6,12,", "has an empty entry"),
    ("6,-12", "must be whole numbers"),
])
def test_hostile_blocks_are_refused_with_the_limit(blocks: str, message: str) -> None:
    with pytest.raises(DenseVisError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_config("densenet121", block_config=parse_blocks(blocks))


def test_hostile_blocks_in_the_cli_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from densevis.cli import main

    for blocks in ("1," * 29 + "1", "99999999999999999999999", "6,12,,16"):
        assert main(["summary", "--blocks", blocks]) == 2
        err = capsys.readouterr().err
        assert err.startswith("densevis: error: ") and err.count("\n") == 1


@pytest.mark.parametrize("text", ["inf", "1e400", "-1G", "nan", "0", "-5", "1e30T", "x"])
def test_bad_memory_sizes_are_refused(text: str) -> None:
    with pytest.raises(DenseVisError, match="memory size must"):
        parse_bytes(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1, 0, "1G", True, [1]])
def test_bad_max_memory_in_the_api_is_refused(value: object) -> None:
    with pytest.raises(DenseVisError, match="max_memory must be"):
        check_memory(get_config("densenet121"), max_memory=value)


@pytest.mark.parametrize("call", [
    lambda: DenseNetConfig(block_config=None),
    lambda: DenseNetConfig(block_config=5),
    lambda: DenseNetConfig(input_size=224),
    lambda: DenseNetConfig(input_size="224"),
    lambda: DenseNetConfig(compression="0.5"),
    lambda: DenseNetConfig(memory_efficient="yes"),
    lambda: DenseNetConfig.from_dict("k=3"),
    lambda: DenseNetConfig.from_dict({"depth": 3}),
    lambda: get_config("densenet121", depth=3),
    lambda: get_config("densenet121").replace(depth=3),
    lambda: DenseNetConfig(growth_rate=10**30, block_config=(1000, 1000)).num_layers and
    check_memory(DenseNetConfig(growth_rate=10**30, block_config=(1000, 1000)), batch_size=0),
])
def test_bad_types_raise_densevis_error(call: object) -> None:
    with pytest.raises(DenseVisError):
        call()  # type: ignore[operator]


ODD_CONFIGS = [
    DenseNetConfig(growth_rate=5, block_config=(3,), bn_size=0, num_classes=1, in_channels=1,
                   stem="cifar", input_size=(8, 8)),
    DenseNetConfig(growth_rate=7, block_config=(2, 1, 4), bn_size=3, compression=0.3,
                   num_init_features=5, num_classes=17, input_size=(64, 48)),
    DenseNetConfig(growth_rate=1, block_config=(1, 1, 1, 1, 1), bn_size=0, compression=1.0,
                   num_init_features=1, stem="cifar", input_size=(32, 32)),
]


@pytest.mark.parametrize(
    "config", [*(PRESETS[name] for name in sorted(PRESETS)), *ODD_CONFIGS],
    ids=[*sorted(PRESETS), "no-bottleneck-cifar", "odd-theta", "k1-five-blocks"],
)
def test_weight_bytes_equal_the_built_models_state_dict(config: DenseNetConfig) -> None:
    """Parameters and BatchNorm buffers (running mean and variance per channel, an int64
    num_batches_tracked per norm) are counted exactly: the oracle is torch's own state_dict."""
    from densevis.model import build_model

    model = build_model(config, device="cpu", max_memory=2**40)
    estimate = estimate_memory(config)
    param_bytes = sum(p.nbytes for p in model.parameters())
    buffer_bytes = sum(b.nbytes for b in model.buffers())
    assert (estimate.param_bytes, estimate.buffer_bytes) == (param_bytes, buffer_bytes)
    assert estimate.state_bytes == sum(t.nbytes for t in model.state_dict().values())
    assert estimate.params == sum(p.numel() for p in model.parameters())


def test_weight_bytes_of_a_deep_block_are_exact_without_allocating() -> None:
    """A 1000-layer block (built on torch's meta device, nothing allocated)."""
    import torch

    from densevis.model import DenseNet

    config = DenseNetConfig(growth_rate=1, block_config=(1000,), input_size=(32, 32))
    with torch.device("meta"):
        model = DenseNet(config, init_weights=False)
    assert estimate_memory(config).state_bytes == sum(
        t.nbytes for t in model.state_dict().values())
    assert estimate_memory(config).buffer_bytes == 4 * 2 * (1000 * 64 + 1000 * 999 // 2
                                                            + 1000 * 4 + 64 + 1064) + 8 * 2002
