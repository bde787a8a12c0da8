"""The model: torchvision's parameter counts and state_dict keys, devices, forward pass."""

from __future__ import annotations

import pytest
import torch

from densevis import DenseVisError, build_model
from densevis.devices import available_devices, resolve_device

PUBLISHED_PARAMS = {
    "densenet121": 7_978_856,
    "densenet169": 14_149_480,
    "densenet201": 20_013_928,
    "densenet161": 28_681_000,
    "densenet264": 33_337_704,
    "densenet-bc-100": 769_162,  # the paper's "0.8M"
}


@pytest.mark.parametrize(("name", "params"), PUBLISHED_PARAMS.items())
def test_parameter_counts(name: str, params: int) -> None:
    model = build_model(name, device="cpu")
    assert sum(p.numel() for p in model.parameters()) == params


def test_state_dict_keys_are_torchvisions() -> None:
    keys = list(build_model("densenet121", "cpu").state_dict())
    assert keys[:6] == [
        "features.conv0.weight",
        "features.norm0.weight",
        "features.norm0.bias",
        "features.norm0.running_mean",
        "features.norm0.running_var",
        "features.norm0.num_batches_tracked",
    ]
    for key in (
        "features.denseblock1.denselayer1.norm1.weight",
        "features.denseblock1.denselayer1.conv1.weight",
        "features.denseblock1.denselayer1.norm2.running_var",
        "features.denseblock1.denselayer6.conv2.weight",
        "features.transition1.norm.weight",
        "features.transition1.conv.weight",
        "features.denseblock4.denselayer16.conv2.weight",
        "features.norm5.bias",
        "classifier.weight",
        "classifier.bias",
    ):
        assert key in keys, key
    assert keys[-2:] == ["classifier.weight", "classifier.bias"]
    # 1 conv0 + norm0 (5) + per dense layer 2 convs + 2 norms (5 each) + transitions + norm5 + fc
    assert len(keys) == 1 + 5 + 58 * (2 + 10) + 3 * (1 + 5) + 5 + 2


def test_forward_gives_logits_and_cifar_variant_runs() -> None:
    model = build_model("densenet-bc-100", "cpu")
    with torch.inference_mode():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_plain_densenet_without_bottleneck() -> None:
    model = build_model("densenet121", "cpu", growth_rate=12, block_config=(3, 3), bn_size=0,
                        input_size=(64, 64))
    layer = model.features.denseblock1.denselayer2
    assert not hasattr(layer, "conv1")
    assert layer.conv2.in_channels == 64 + 12 and layer.conv2.kernel_size == (3, 3)


def test_devices() -> None:
    assert available_devices()[-1] == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    assert str(resolve_device("auto")) == available_devices()[0]
    if not torch.cuda.is_available():
        with pytest.raises(DenseVisError, match="'cuda' is not available on this machine"):
            resolve_device("cuda")
    with pytest.raises(DenseVisError, match="unknown device 'tpu'"):
        resolve_device("tpu")
