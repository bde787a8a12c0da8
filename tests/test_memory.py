"""Concatenation memory: analytic (quadratic vs linear in L), measured, and exact gradients of
the memory-efficient (recomputing) model."""

from __future__ import annotations

import argparse
import json

import pytest
import torch
import torch.nn.functional as F

import densevis
from densevis.config import DenseNetConfig
from densevis.memory import MemoryReport, concat_memory
from densevis.memory_measure import TensorMemoryTracker, gradients_match, measure_memory
from densevis.model import DenseNet
from densevis.records import Trace

K, K0, SIDE = 12, 24, 32  # growth rate, block input channels, spatial side of the block


def _single_block(layers: int) -> DenseNetConfig:
    return DenseNetConfig(growth_rate=K, block_config=(layers,), num_init_features=K0,
                          bn_size=4, num_classes=10, input_size=(SIDE, SIDE), stem="cifar")


@pytest.fixture(scope="module")
def single_blocks() -> dict[int, Trace]:
    return {n: densevis.trace(_single_block(n), device="cpu") for n in (8, 16, 24, 32)}


def test_naive_grows_quadratically_efficient_linearly(single_blocks: dict[int, Trace]) -> None:
    batch, step = 2, 8
    blocks = [concat_memory(single_blocks[n], batch).blocks[0] for n in (8, 16, 24, 32)]
    plane = batch * SIDE * SIDE * 4  # bytes of one float32 channel at this batch

    def second(values: list[int]) -> list[int]:
        first = [b - a for a, b in zip(values, values[1:], strict=False)]
        return [b - a for a, b in zip(first, first[1:], strict=False)]

    # naive keeps the concat and its BN output: sum_l 2 (k0 + k(l-1)) = 2 k0 L + k L (L-1)
    assert second([b.training_naive for b in blocks]) == [2 * K * step**2 * plane] * 2
    assert second([b.concat_naive for b in blocks]) == [K * step**2 * plane] * 2
    # memory-efficient: per layer only 4k + 4k + k, plus two shared buffers of the largest
    assert second([b.training_efficient for b in blocks]) == [0, 0]
    assert second([b.concat_shared for b in blocks]) == [0, 0]
    efficient_step = blocks[1].training_efficient - blocks[0].training_efficient
    # per 8 layers: 8 * (4k + 4k + k) kept + block output 8k + shared buffers 2 * 8k
    assert efficient_step == step * (9 * K + K + 2 * K) * plane
    ratios = [b.training_naive / b.training_efficient for b in blocks]
    assert ratios == sorted(ratios) and ratios[-1] > 3


def test_block_numbers_match_hand_formulas(trace121: Trace) -> None:
    memory = concat_memory(trace121, 1)
    plane = 56 * 56 * 4
    block1 = memory.blocks[0]
    channels = [64 + 32 * (layer - 1) for layer in range(1, 7)]
    assert block1.concat_naive == sum(channels) * plane
    assert block1.concat_shared == max(channels) * plane
    assert block1.features == (64 + 6 * 32) * plane
    kept = sum(2 * c + 128 + 128 + 32 for c in channels) + 256  # + block output
    assert block1.training_naive == kept * plane
    assert block1.training_efficient == (6 * (128 + 128 + 32) + 256 + 2 * 224) * plane
    assert memory.params_bytes == 7_978_856 * 4
    assert memory.training_naive == memory.other_training + memory.params_bytes + sum(
        b.training_naive for b in memory.blocks)


def test_batch_size_scales_exactly(trace121: Trace) -> None:
    one, eight = concat_memory(trace121, 1), concat_memory(trace121, 8)
    for a, b in zip(one.blocks, eight.blocks, strict=True):
        assert b.training_naive == 8 * a.training_naive
        assert b.inference_efficient == 8 * a.inference_efficient
    assert eight.training_naive - eight.params_bytes == 8 * (one.training_naive -
                                                             one.params_bytes)
    with pytest.raises(densevis.DenseVisError, match="batch size"):
        concat_memory(trace121, 0)


def test_memory_efficient_training_gives_the_same_gradients() -> None:
    config = DenseNetConfig(growth_rate=6, block_config=(3, 3), num_init_features=8,
                            bn_size=2, num_classes=4, input_size=(16, 16), stem="cifar")
    torch.manual_seed(1)
    naive = DenseNet(config).train()
    efficient = DenseNet(config.replace(memory_efficient=True)).train()
    efficient.load_state_dict(naive.state_dict())
    assert efficient.features.denseblock1.denselayer1.memory_efficient
    image = torch.randn(3, 3, 16, 16)
    labels = torch.tensor([0, 2, 3])
    losses = []
    for net in (naive, efficient):
        loss = F.cross_entropy(net(image), labels)
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)
    for (name, a), (_, b) in zip(naive.named_parameters(), efficient.named_parameters(),
                                 strict=True):
        assert a.grad is not None and b.grad is not None, name
        torch.testing.assert_close(b.grad, a.grad, atol=1e-5, rtol=0)
    assert float(naive.features.denseblock1.denselayer1.conv1.weight.grad.abs().sum()) > 0
    assert gradients_match(config) < 1e-5


def test_tracker_counts_live_storage() -> None:
    tracker = TensorMemoryTracker()
    base = torch.ones(1000)
    with tracker:
        doubled = base * 2
        view = doubled.view(10, 100)  # same storage: not counted again
        assert tracker.current == 4000
        del doubled, view
        assert tracker.current == 0
        torch.cat([base, base])
    assert tracker.peak == 8000


def test_measured_memory_agrees_with_analytic() -> None:
    config = DenseNetConfig(growth_rate=8, block_config=(6, 6), num_init_features=16,
                            bn_size=4, num_classes=10, input_size=(32, 32), stem="cifar")
    measured = measure_memory(config, batch_size=4, device="cpu", repeats=1)
    analytic = concat_memory(densevis.trace(config, device="cpu"), 4)
    assert measured.training_efficient_peak < 0.8 * measured.training_naive_peak
    for real, estimate in ((measured.training_naive_peak, analytic.training_naive),
                           (measured.training_efficient_peak, analytic.training_efficient),
                           (measured.inference_peak, analytic.inference_naive)):
        assert 0.7 < real / estimate < 1.3
    assert measured.training_naive_seconds > 0 and measured.training_efficient_seconds > 0
    report = MemoryReport(analytic, measured)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["comparison"][3]["measured"] == measured.training_efficient_peak

    from densevis.render.memory_charts import memory_chart

    figure = memory_chart(report)
    bars = {bar.name: list(bar.y) for bar in figure.data if bar.name}
    assert bars["naive, analytic"][1] == pytest.approx(analytic.training_naive / 2**20)
    assert bars["memory-efficient, measured"][1] == pytest.approx(
        measured.training_efficient_peak / 2**20)
    assert "recomputation" in figure.layout.title.text


def test_memory_subcommand_json(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from densevis.cli import memory

    parser = argparse.ArgumentParser()
    memory.register(parser.add_subparsers())
    args = parser.parse_args(["memory", "--model", "densenet-bc-100", "--blocks", "4,4",
                              "-b", "2", "--device", "cpu", "--format", "json"])
    assert args.func(args) == 0
    data = json.loads(capsys.readouterr().out)
    expected = concat_memory(densevis.trace(densevis.get_config(
        "densenet-bc-100", block_config=(4, 4)), device="cpu"), 2)
    assert data["analytic"]["training_naive"] == expected.training_naive
    assert data["measured"] is None
