"""The tracer: every count comes out of the module, checked against published numbers,
against hooks on a full-size forward pass, and against torch's own FLOP counter."""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import densevis
from densevis import DenseVisError, build_model, get_config
from densevis.config import estimate_memory
from densevis.records import Trace


def test_densenet121_layer_kinds(trace121: Trace) -> None:
    counts = trace121.counts()
    assert counts["conv"] == {"7x7": 1, "3x3": 58, "1x1": 61}
    assert sum(counts["conv"].values()) == 120
    assert (counts["avgpool"], counts["maxpool"], counts["linear"]) == (4, 1, 1)
    assert counts["batchnorm"] == 121 and counts["relu"] == 121
    assert counts["concat"] == 58 + 4
    assert trace121.totals.depth == 121
    transition_convs = [layer for layer in trace121.ops
                        if layer.stage.startswith("transition") and layer.kind == "conv"]
    assert len(transition_convs) == 3 and all(c.kernel == (1, 1) for c in transition_convs)


def test_densenet121_totals(trace121: Trace) -> None:
    assert trace121.totals.params == 7_978_856
    assert trace121.totals.macs == 2_834_161_664  # torchvision's published 2.834 "GFLOPS"
    assert trace121.totals.flops == 2 * trace121.totals.macs


def test_densenet121_blocks_and_links(trace121: Trace) -> None:
    blocks = trace121.blocks
    assert [b.dense_layers for b in blocks] == [6, 12, 24, 16]
    assert [b.k0 for b in blocks] == [64, 128, 256, 512]
    assert [b.growth_rate for b in blocks] == [32] * 4
    assert [b.links for b in blocks] == [21, 78, 300, 136]
    assert [b.output_links for b in blocks] == [7, 13, 25, 17]
    assert [b.out_channels for b in blocks] == [256, 512, 1024, 1024]
    assert [(b.height, b.width) for b in blocks] == [(56, 56), (28, 28), (14, 14), (7, 7)]
    assert len(trace121.links) == 535
    # layer l reads exactly sources 0..l-1
    for block in blocks:
        for target in range(1, block.dense_layers + 1):
            sources = sorted(link.source for link in trace121.links
                             if link.block == block.index and link.target == target)
            assert sources == list(range(target))


def test_input_channels_grow_by_k_and_transitions_halve(trace121: Trace) -> None:
    for summary in trace121.dense_layers():
        block = trace121.block(summary.block)
        assert summary.in_channels == block.k0 + block.growth_rate * (summary.position - 1)
        assert summary.bottleneck_channels == 4 * 32 and summary.out_channels == 32
    for index in (1, 2, 3):
        conv = trace121.op(f"features.transition{index}.conv")
        assert conv.out_channels == conv.in_channels // 2
    assert trace121.op("classifier").in_channels == 1024


def test_spatial_sizes_follow_paper_table_1(trace121: Trace) -> None:
    assert trace121.op("features.conv0").output_shape == (1, 64, 112, 112)
    assert trace121.op("features.pool0").output_shape == (1, 64, 56, 56)
    assert trace121.op("avgpool").output_shape == (1, 1024, 1, 1)
    titles = [stage.title for stage in trace121.stages()]
    assert titles == ["Stem", "Dense block 1", "Transition 1", "Dense block 2", "Transition 2",
                      "Dense block 3", "Transition 3", "Dense block 4", "Classification"]


def _full_size_shapes(model: torch.nn.Module, x: torch.Tensor) -> dict[str, tuple]:
    shapes: dict[str, tuple] = {}
    handles = [
        module.register_forward_hook(
            lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
        for name, module in model.named_modules() if not list(module.children())
    ]
    with torch.inference_mode():
        model(x)
    for handle in handles:
        handle.remove()
    return shapes


@pytest.mark.parametrize(
    "changes",
    [
        {"growth_rate": 12, "block_config": (3, 4, 5), "input_size": (97, 61)},
        {"bn_size": 0, "block_config": (2, 3), "compression": 0.7, "input_size": (64, 40)},
        {"name": "densenet-bc-100"},
    ],
)
def test_propagated_shapes_equal_a_full_size_forward(changes: dict) -> None:
    config = get_config(changes.pop("name", "densenet121"), **changes)
    model = build_model(config, "cpu")
    result = densevis.trace(model, batch_size=2)
    expected = _full_size_shapes(model, torch.zeros(2, 3, *config.input_size))
    assert {layer.name: layer.output_shape for layer in result.ops} == expected
    assert result.totals.params == sum(p.numel() for p in model.parameters())


def test_flops_equal_torch_flop_counter() -> None:
    for config in (get_config("densenet121"),
                   get_config("densenet121", growth_rate=12, block_config=(4, 5),
                              input_size=(96, 80), bn_size=0)):
        model = build_model(config, "cpu")
        with FlopCounterMode(display=False) as counter, torch.inference_mode():
            model(torch.zeros(1, 3, *config.input_size))
        assert densevis.trace(model).totals.flops == counter.get_total_flops()


def test_trace_of_a_module_keeps_its_weights_untouched() -> None:
    model = build_model("densenet-bc-100", "cpu").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    densevis.trace(model)
    assert model.training
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_custom_big_blocks_trace() -> None:
    result = densevis.trace(get_config("densenet121", block_config=(100, 100),
                                       input_size=(64, 64)))
    assert [b.links for b in result.blocks] == [5050, 5050]
    assert result.blocks[1].k0 == (64 + 100 * 32) // 2


def test_json_shape_and_round_trip(trace121: Trace) -> None:
    data = json.loads(trace121.to_json())
    assert set(data) >= {"model", "config", "device", "totals", "counts", "blocks", "ops",
                         "links"}
    assert set(data["totals"]) >= {"params", "macs", "flops", "activation_bytes"}
    assert data["counts"]["conv"] == {"7x7": 1, "3x3": 58, "1x1": 61}
    assert set(data["blocks"][0]) >= {"index", "dense_layers", "k0", "growth_rate", "links",
                                      "in_channels", "out_channels", "height", "width"}
    assert data["links"][0] == {"block": 1, "source": 0, "target": 1}
    assert Trace.from_dict(data) == trace121


def test_dataframe(trace121: Trace) -> None:
    frame = trace121.to_dataframe()
    assert len(frame) == len(trace121.ops) == 430
    assert frame["params"].sum() == 7_978_856
    assert frame.loc[0, "name"] == "features.conv0" and frame.loc[0, "kernel"] == "7x7"


def test_bad_trace_targets() -> None:
    with pytest.raises(DenseVisError, match="a custom module needs an input size"):
        densevis.trace(torch.nn.Linear(2, 2))  # any module traces (tests/test_generic.py)
    with pytest.raises(DenseVisError, match="batch size must be a positive integer"):
        densevis.trace("densenet121", batch_size=0)


def test_trace_leaves_the_thread_count_as_it_was() -> None:
    before = torch.get_num_threads()
    densevis.trace("densenet-bc-100")
    assert torch.get_num_threads() == before


def test_trace_caps_what_it_allocates_not_the_full_size_estimate() -> None:
    """Two blocks of 200 dense layers at k = 12 need GiBs at full size but a trace allocates
    only the weights and a probe-sized pass (issue 12, point 13)."""
    from densevis.memory_cap import check_memory

    config = densevis.get_config("densenet121", growth_rate=12, block_config=(200, 200))
    cap = 512 * 1024**2
    assert estimate_memory(config).total_bytes > cap
    with pytest.raises(DenseVisError, match="over the 512 MiB cap"):
        check_memory(config, cap)  # building it to run full size is refused
    records = densevis.trace(config, device="cpu", max_memory=cap)
    assert [block.dense_layers for block in records.blocks] == [200, 200]
    model = densevis.build_model(densevis.get_config("densenet-bc-100"), device="cpu")
    tiny = estimate_memory(model.config).state_bytes // 2  # less than its weights
    assert densevis.trace(model, max_memory=tiny).totals.params == 769_162  # already built
    with pytest.raises(DenseVisError, match="over the"):
        densevis.trace(densevis.get_config("densenet-bc-100"), device="cpu", max_memory=tiny)


def test_one_thread_here_changes_only_the_calling_thread() -> None:
    """The probe's single thread is this thread's OpenMP setting: a thread started meanwhile
    and the process default keep torch's count (issue 12, point 9)."""
    import threading

    from densevis.threads import one_thread_here

    before = torch.get_num_threads()
    if before < 2:
        pytest.skip("torch runs one thread here already")
    seen: list[int] = []
    with one_thread_here():
        inside = torch.get_num_threads()
        other = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
        other.start()
        other.join()
    assert (inside, seen, torch.get_num_threads()) == (1, [before], before)


@pytest.mark.parametrize(("name", "on_meta"), [("densenet121", False), ("densenet169", True)])
def test_a_config_traces_as_its_built_model_does(name: str, on_meta: bool) -> None:
    """Tracing a config builds a blank module (densenet169's 14.1 M parameters: on the meta
    device, then zeroed tensors; densenet121's 8 M: directly); its records equal those of the
    initialised model that build_model makes (whose shapes a full-size forward checks)."""
    from densevis.tracer import BLANK_ON_META

    config = get_config(name)
    assert on_meta == (estimate_memory(config).params >= BLANK_ON_META)
    assert densevis.trace(config, device="cpu") == densevis.trace(build_model(config, "cpu"))
