"""Per-op weight statistics of a loaded checkpoint (the Diagram panel's mean |W|, min, max),
checked against torch's own reductions of the state_dict and the trace's parameter counts."""

from __future__ import annotations

import io
import math

import pytest
import torch

from densevis import build_model, get_config, trace
from densevis.reuse_measure import weight_stats
from densevis.weight_stats import WeightStats
from densevis.weights import load_checkpoint


@pytest.fixture(scope="module")
def loaded() -> tuple[dict[str, torch.Tensor], WeightStats]:
    """densenet-bc-100 with every tensor perturbed (so BN weights are not all 1), saved as a
    bare state_dict (config inferred from the shapes) and loaded back."""
    torch.manual_seed(0)
    state = build_model("densenet-bc-100", "cpu").state_dict()
    for value in state.values():
        if value.is_floating_point():
            value.add_(torch.randn_like(value) * 0.1)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return state, weight_stats(load_checkpoint(buffer.getvalue(), name="dir/bc100.pth",
                                               device="cpu"))


def test_stats_equal_torchs_reductions(loaded: tuple[dict[str, torch.Tensor], WeightStats]
                                       ) -> None:
    state, stats = loaded
    assert stats.source == "bc100.pth"
    checked = 0
    for op, tensors in stats.ops:
        for entry in tensors:
            tensor = state[f"{op}.{entry.tensor}"]
            assert entry.shape == tuple(tensor.shape)
            assert math.isclose(entry.mean_abs, tensor.abs().mean().item(), rel_tol=1e-6)
            assert entry.min == tensor.min().item() and entry.max == tensor.max().item()
            checked += 1
    learned = [key for key in state if not key.endswith(("running_mean", "running_var",
                                                         "num_batches_tracked"))]
    # conv0; 48 dense layers x (2 BN weight+bias, 2 convs); 2 transitions; norm5; classifier
    assert checked == len(learned) == 1 + 48 * 6 + 2 * 3 + 2 + 2
    conv1 = stats.of("features.denseblock3.denselayer12.conv1")
    assert [(t.tensor, t.shape) for t in conv1] == [("weight", (48, 150 + 11 * 12, 1, 1))]
    assert [t.tensor for t in stats.of("features.denseblock3.denselayer12.norm1")] == [
        "weight", "bias"]
    assert stats.of("features.denseblock3.denselayer12.relu1") == ()


def test_keys_are_the_traces_op_names(loaded: tuple[dict[str, torch.Tensor], WeightStats]
                                      ) -> None:
    """Every op of the trace with parameters has stats covering exactly its parameters."""
    _, stats = loaded
    ops = trace("densenet-bc-100").ops
    counted = {op.name: op.params for op in ops if op.params}
    covered = {op: sum(math.prod(t.shape) for t in tensors) for op, tensors in stats.ops}
    assert covered == counted


def test_fits_ignores_fields_that_shape_no_tensor(loaded: tuple[dict[str, torch.Tensor],
                                                                WeightStats]) -> None:
    _, stats = loaded
    config = get_config("densenet-bc-100")
    assert stats.fits(config)
    assert stats.fits(config.replace(input_size=(64, 64), drop_rate=0.2,
                                     memory_efficient=True))
    assert not stats.fits(config.replace(growth_rate=24))
    assert not stats.fits(get_config("densenet121"))
    assert not stats.fits(None)
