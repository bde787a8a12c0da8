"""The DenseNet module, with torchvision's module names and state_dict keys.

Differences from torchvision that change no state_dict key: the concatenations are explicit,
parameter-free ``Concat`` modules (one at the input of every dense layer, one at the output of
every block) so the tracer can see every dense link, and the head's ReLU and global average
pool are modules (``relu``, ``avgpool``) instead of functional calls.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from torch import nn

from densevis.config import DenseNetConfig, get_config, transition_channels
from densevis.devices import resolve_device
from densevis.memory_cap import check_memory


class Concat(nn.Module):
    """Channel-wise concatenation of a list of feature maps: the dense connectivity itself."""

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(features, 1)


class _DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (bn_size*k) - BN-ReLU-3x3 conv (k); without a bottleneck, BN-ReLU-3x3."""

    def __init__(
        self,
        in_channels: int,
        growth_rate: int,
        bn_size: int,
        drop_rate: float,
        memory_efficient: bool,
    ) -> None:
        super().__init__()
        self.concat = Concat()
        self.bottleneck = bn_size > 0
        if self.bottleneck:
            width = bn_size * growth_rate
            self.norm1 = nn.BatchNorm2d(in_channels)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1, stride=1, bias=False)
        else:
            width = in_channels
        self.norm2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(width, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def _reduce(self, *features: torch.Tensor) -> torch.Tensor:
        """Concat (+ bottleneck): the part memory-efficient mode recomputes in backward."""
        out = self.concat(list(features))
        if self.bottleneck:
            out = self.conv1(self.relu1(self.norm1(out)))
        return out

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        if self.memory_efficient and self.training and any(t.requires_grad for t in features):
            reduced = cp.checkpoint(self._reduce, *features, use_reentrant=False)
        else:
            reduced = self._reduce(*features)
        out = self.conv2(self.relu2(self.norm2(reduced)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class _DenseBlock(nn.Module):
    """L dense layers; layer l reads the concatenation of the block input and layers 1..l-1."""

    def __init__(
        self,
        num_layers: int,
        in_channels: int,
        growth_rate: int,
        bn_size: int,
        drop_rate: float,
        memory_efficient: bool,
    ) -> None:
        super().__init__()
        for index in range(num_layers):
            layer = _DenseLayer(
                in_channels + index * growth_rate, growth_rate, bn_size, drop_rate,
                memory_efficient,
            )
            self.add_module(f"denselayer{index + 1}", layer)
        self.concat = Concat()

    def dense_layers(self) -> list[_DenseLayer]:
        return [m for m in self.children() if isinstance(m, _DenseLayer)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.dense_layers():
            features.append(layer(features))
        return self.concat(features)


class _Transition(nn.Sequential):
    """BN-ReLU-1x1 conv (compression) - 2x2 average pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """DenseNet from a DenseNetConfig; ``model.config`` keeps the config it was built from."""

    def __init__(self, config: DenseNetConfig, init_weights: bool = True) -> None:
        super().__init__()
        self.config = config
        init = config.num_init_features
        if config.stem == "imagenet":
            stem = [
                ("conv0", nn.Conv2d(config.in_channels, init, 7, stride=2, padding=3, bias=False)),
                ("norm0", nn.BatchNorm2d(init)),
                ("relu0", nn.ReLU(inplace=True)),
                ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
            ]
        else:
            stem = [("conv0", nn.Conv2d(config.in_channels, init, 3, padding=1, bias=False))]
        self.features = nn.Sequential(OrderedDict(stem))
        channels = init
        last = len(config.block_config) - 1
        for index, num_layers in enumerate(config.block_config):
            block = _DenseBlock(
                num_layers, channels, config.growth_rate, config.bn_size, config.drop_rate,
                config.memory_efficient,
            )
            self.features.add_module(f"denseblock{index + 1}", block)
            channels += num_layers * config.growth_rate
            if index != last:
                out = transition_channels(config, channels)
                self.features.add_module(f"transition{index + 1}", _Transition(channels, out))
                channels = out
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.relu = nn.ReLU(inplace=True)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(channels, config.num_classes)
        if init_weights:
            self._init_weights()

    def _init_weights(self) -> None:
        """torchvision's initialisation: Kaiming-normal convs, unit BN, zero biases."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)
            elif isinstance(module, nn.Linear):
                nn.init.constant_(module.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.avgpool(self.relu(self.features(x)))
        return self.classifier(torch.flatten(out, 1))


def build_model(
    name_or_config: str | DenseNetConfig = "densenet121",
    device: str | torch.device | None = "auto",
    max_memory: int | None = None,
    **overrides: object,
) -> DenseNet:
    """Build a DenseNet on a device, after refusing configs that would not fit in memory.

    ``name_or_config`` is a preset name or a DenseNetConfig; ``overrides`` change its fields
    (``growth_rate=12``...). ``max_memory`` (bytes) defaults to half the free memory.
    """
    config = get_config(name_or_config, **overrides)
    target = resolve_device(device)
    check_memory(config, max_memory, device=target)
    with torch.device(target):
        model = DenseNet(config)
    return model.eval()
