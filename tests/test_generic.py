"""The generic tracer: any nn.Module, dense blocks found from the data flow alone.

Oracles: densevis's own tracer (same records for its own DenseNet), torch's forward pass
(output shapes), torch's FlopCounterMode (FLOPs), the paper's L(L+1)/2 links and DenseNet-BC
widths, and the same weights in list and chained style (same outputs, same records)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import densevis
from densevis import DenseVisError, build_model, get_config
from densevis.generic import trace_module
from densevis.records import Trace

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
from cifar_densenet import densenet_bc  # noqa: E402
from fc_densenet import fc_densenet  # noqa: E402
from resnet import resnet  # noqa: E402


def _same_records(generic: Trace, own: Trace) -> None:
    """Every field the DenseNet tracer writes is the same in the generic trace."""
    assert len(generic.ops) == len(own.ops)
    for ours, theirs in zip(generic.ops, own.ops, strict=True):
        assert dataclasses.replace(ours, inputs=()) == dataclasses.replace(theirs, inputs=())
    assert generic.blocks == own.blocks
    assert generic.links == own.links
    assert generic.output_links == own.output_links
    assert generic.totals == own.totals
    assert generic.stages() == own.stages()
    assert generic.dense_layers() == own.dense_layers()


@pytest.mark.parametrize("config", [
    get_config("densenet121"),
    get_config("densenet-bc-100"),
    get_config("densenet121", bn_size=0, block_config=(1, 3), compression=0.7,
               input_size=(64, 40), growth_rate=6),
])
def test_own_densenet_through_the_generic_path(config: densevis.DenseNetConfig) -> None:
    model = build_model(config, "cpu")
    own = densevis.trace(model)
    generic = trace_module(model, config.input_size, label=config.label, config=config)
    _same_records(generic, own)
    assert generic.input_shape == (1, 3, *config.input_size)
    assert generic.edges == ()  # every concatenation is a dense one


def test_chained_and_list_style_with_the_same_weights() -> None:
    listed = build_model("densenet-bc-100", "cpu")
    chained = densenet_bc(depth=100, growth_rate=12)
    chained.load_state_dict(listed.state_dict())  # torchvision's keys in both
    image = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(listed.eval()(image), chained.eval()(image), atol=1e-5)
    a, b = densevis.trace(listed), densevis.trace(chained)
    assert a.blocks == b.blocks
    assert a.links == b.links and a.output_links == b.output_links
    assert [b.dense_layers for b in b.blocks] == [16, 16, 16]
    assert [blk.links for blk in b.blocks] == [136] * 3  # L(L+1)/2 with L = 16
    assert [(blk.k0, blk.out_channels) for blk in b.blocks] == [(24, 216), (108, 300),
                                                                 (150, 342)]
    assert [(r.in_channels, r.out_channels) for r in a.dense_layers()] == \
        [(r.in_channels, r.out_channels) for r in b.dense_layers()]
    assert all(r.bottleneck_channels == 48 for r in b.dense_layers())
    assert a.totals.params == b.totals.params == 769_162  # the paper's "0.8M"
    assert a.totals.macs == b.totals.macs
    # chained style: each concat re-joins the previous one, links go to the producers
    concat = b.ops[[op.kind for op in b.ops].index("concat", 40)]
    assert concat.sources == tuple(range(concat.position))
    assert b.input_slices(1, 3) == ((0, 0, 24), (1, 24, 36), (2, 36, 48))
    assert b.input_slices(1, 1) == ((0, 0, 24),)


def test_fc_densenet_blocks_skips_and_output() -> None:
    model = fc_densenet()
    result = densevis.trace(model)
    assert [b.dense_layers for b in result.blocks] == [2, 3, 4, 3, 2]
    assert [b.links for b in result.blocks] == [3, 6, 10, 6, 3]  # L(L+1)/2 each
    assert len(result.links) == 28
    # bottleneck and first up block pass on only their new features: L sources, L * k
    assert [b.output_links for b in result.blocks] == [3, 4, 4, 3, 3]
    assert [b.out_channels for b in result.blocks] == [40, 64, 32, 24, 80]
    assert [b.k0 for b in result.blocks] == [24, 40, 64, 32 + 64, 24 + 40]
    skips = [e for e in result.edges if e.kind == "skip"]
    assert len(skips) == 2 and len(result.edges) == 2
    encoder_outputs = [op.index for op in result.ops if op.block in (1, 2) and
                       op.kind == "concat" and op.position is None]
    assert sorted(e.source for e in skips) == encoder_outputs
    assert all(result.ops[e.target].stage.startswith("transition") for e in skips)
    with torch.inference_mode():
        expected = model.eval()(torch.zeros(1, 3, 64, 64)).shape
    assert result.ops[-1].output_shape == tuple(expected) == (1, 5, 64, 64)


def test_resnet_has_no_dense_block_but_residual_links() -> None:
    result = densevis.trace(resnet())
    assert result.blocks == () and result.links == ()
    assert [s.name for s in result.stages()] == ["stem", "layer1", "layer2", "layer3", "head"]
    residual = [e for e in result.edges if e.kind == "residual"]
    assert len(residual) == 6  # one per basic block
    assert all(result.ops[e.target].kind == "add" for e in residual)
    # identity shortcuts come from the previous block's ReLU, projections from their BN
    assert [result.ops[e.source].name for e in residual[:3]] == \
        ["relu", "layer1.0.relu:2", "layer2.0.shortcut.1"]
    assert result.totals.params == sum(p.numel() for p in resnet().parameters())


def _leaf_shapes(model: nn.Module, image: torch.Tensor) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}

    def keep(name: str):  # noqa: ANN202
        def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            shapes.setdefault(name, tuple(output.shape))
        return hook

    handles = [m.register_forward_hook(keep(n)) for n, m in model.named_modules()
               if next(m.children(), None) is None and not isinstance(m, nn.Sequential)]
    with torch.inference_mode():
        model.eval()(image)
    for handle in handles:
        handle.remove()
    return shapes


@pytest.mark.parametrize("factory", [densenet_bc, fc_densenet, resnet])
def test_shapes_and_flops_equal_torch(factory) -> None:  # noqa: ANN001
    model = factory()
    image = torch.zeros(2, *model.input_size)
    result = densevis.trace(model, batch_size=2)
    expected = _leaf_shapes(model, image)
    assert {op.name: op.output_shape for op in result.ops if op.name in expected} == expected
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(image)
    assert result.totals.flops == counter.get_total_flops() > 0


def test_input_sizes_and_round_trip() -> None:
    model = resnet()
    assert densevis.trace(model, input_size=(3, 40, 48)).ops[0].output_shape == (1, 16, 40, 48)
    assert densevis.trace(model, input_size=(40, 48)).input_shape == (1, 3, 40, 48)
    assert densevis.trace(model, input_size="40x48").input_shape == (1, 3, 40, 48)
    result = densevis.trace(fc_densenet())
    assert result.config is None
    assert Trace.from_dict(json.loads(result.to_json())) == result


class _ReadsValues(nn.Module):
    """Python control flow on a value: cannot run on meta, runs for real instead."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.cat([y, y * 2], 1) if float(y.abs().sum()) >= 0 else y


class _NoTensor(nn.Module):
    def forward(self, x: torch.Tensor) -> str:
        return "no tensor"


def test_value_reading_module_falls_back_to_a_real_run() -> None:
    result = densevis.trace(_ReadsValues(), input_size=(3, 8, 8))
    assert [op.kind for op in result.ops] == ["conv", "abs", "sum", "mul", "concat"]
    assert result.ops[-1].output_shape == (1, 8, 6, 6)
    assert result.edges[0].kind == "skip" and result.blocks == ()


@pytest.mark.parametrize(("module", "size", "message"), [
    (nn.Linear(10, 2), None, "needs an input size"),
    (nn.Linear(10, 2), (3, 8, 8), "Linear failed on input 3x8x8: RuntimeError"),
    (_NoTensor(), (3, 8, 8), "returned no tensor"),
    (resnet(), (3, 0, 8), "input size must be"),
])
def test_bad_modules_are_one_clear_error(module: nn.Module, size: object, message: str) -> None:
    with pytest.raises(DenseVisError, match=message):
        densevis.trace(module, input_size=size)
