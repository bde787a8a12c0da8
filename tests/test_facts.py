"""The facts card: general facts for any config, DenseNet-121's counts only for 121 (issue 12,
point 12), and one number format per kind."""

from __future__ import annotations

import pytest

import densevis
from densevis.facts import check_facts
from densevis.records import Trace
from densevis.units import format_bytes, format_count, format_si


def test_densenet121_gets_its_published_counts_and_the_general_facts(trace121: Trace) -> None:
    facts = check_facts(trace121)
    assert [fact.scope for fact in facts] == ["DenseNet-121"] + ["any DenseNet"] * 3
    assert all(fact.holds for fact in facts)
    assert facts[0].measured == ("1 7×7 conv, 58 3×3, 61 1×1, 4 average pools, 1 FC; "
                                 "120 convolutions")
    assert facts[1].measured == "L=6 → 21, L=12 → 78, L=24 → 300, L=16 → 136"
    assert facts[3].statement == "transitions keep ⌊θ·C⌋ channels, θ = 0.5 (θ = 0.5 halves them)"
    assert facts[3].measured == "256 → 128, 512 → 256, 1024 → 512"


@pytest.mark.parametrize("changes", [
    {"growth_rate": 12, "block_config": (6, 12)},
    {"compression": 0.3, "block_config": (4, 4, 4)},
    {"input_size": (64, 64), "bn_size": 0, "block_config": (3, 3)},
])
def test_other_configs_check_only_the_general_facts_and_pass(changes: dict) -> None:
    trace = densevis.trace(densevis.get_config("densenet121", **changes), device="cpu")
    facts = check_facts(trace)
    assert [fact.scope for fact in facts] == ["any DenseNet"] * 3
    assert all(fact.holds for fact in facts), [f.measured for f in facts if not f.holds]


def test_densenet121_at_another_input_size_is_still_121() -> None:
    trace = densevis.trace("densenet121", input_size=(160, 128), device="cpu")
    assert check_facts(trace)[0].scope == "DenseNet-121" and check_facts(trace)[0].holds


@pytest.mark.parametrize(("value", "si"), [
    (2_834_000_000, "2.83 G"), (70_400, "70.4 K"), (9_540, "9.54 K"), (769_162, "769 K"),
    (999_950, "1 M"), (512, "512"), (0, "0"), (-2_500_000, "-2.5 M"),
])
def test_si_is_three_significant_digits(value: float, si: str) -> None:
    assert format_si(value) == si


def test_bytes_and_counts() -> None:
    assert [format_bytes(v) for v in (0, 1023, 1536, 8_246_337_208, 3 * 1024**6)] == \
        ["0 B", "1023 B", "1.5 KiB", "7.68 GiB", "3 EiB"]
    assert format_count(1_040_449_536) == "1,040,449,536"
