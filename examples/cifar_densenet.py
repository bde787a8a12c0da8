"""A CIFAR DenseNet-BC written in the "chained" style: ``x = torch.cat([x, layer(x)], 1)``.

Huang et al. 2017, Section 3 and Table 2: DenseNet-BC with depth 100 and growth rate k = 12
has three dense blocks of (depth - 4) / 6 = 16 bottleneck layers (BN-ReLU-1x1 conv to 4k,
BN-ReLU-3x3 conv to k), a 3x3 first convolution with 2k channels, transitions that halve the
channels (theta = 0.5) and a 2x2 average pool, then BN-ReLU, global pooling and a linear
classifier for 10 classes: about 0.8 M parameters.

Module names follow torchvision's, so its state_dict loads into densevis's own list-style
``DenseNet`` built from the ``densenet-bc-100`` preset (and back).

    densevis summary --module examples/cifar_densenet.py:densenet_bc
    densevis summary --module examples/cifar_densenet.py:densenet_bc --module-args '{"depth": 40}'
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class BottleneckLayer(nn.Sequential):
    """H_l: BN-ReLU-1x1 conv (4k) - BN-ReLU-3x3 conv (k). Returns only the k new channels."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, 4 * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(4 * growth_rate)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4 * growth_rate, growth_rate, 3, padding=1, bias=False)


class ChainedDenseBlock(nn.Module):
    """Each layer's output is appended to the running feature map."""

    def __init__(self, layers: int, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        for index in range(layers):
            layer = BottleneckLayer(in_channels + index * growth_rate, growth_rate)
            self.add_module(f"denselayer{index + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.children():
            x = torch.cat([x, layer(x)], 1)
        return x


class Transition(nn.Sequential):
    """BN-ReLU-1x1 conv (compression) - 2x2 average pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.pool = nn.AvgPool2d(2, 2)


class CifarDenseNetBC(nn.Module):
    """DenseNet-BC for 32x32 images."""

    input_size = (3, 32, 32)  # what densevis traces it with unless told otherwise

    def __init__(self, depth: int = 100, growth_rate: int = 12, num_classes: int = 10) -> None:
        super().__init__()
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(f"depth must be 6n + 4 with n >= 1, got {depth}")
        layers = (depth - 4) // 6
        channels = 2 * growth_rate
        self.features = nn.Sequential()
        self.features.add_module("conv0", nn.Conv2d(3, channels, 3, padding=1, bias=False))
        for index in range(3):
            block = ChainedDenseBlock(layers, channels, growth_rate)
            self.features.add_module(f"denseblock{index + 1}", block)
            channels += layers * growth_rate
            if index < 2:
                self.features.add_module(f"transition{index + 1}",
                                         Transition(channels, channels // 2))
                channels //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(channels))
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.adaptive_avg_pool2d(F.relu(self.features(x)), 1)
        return self.classifier(torch.flatten(out, 1))


def densenet_bc(depth: int = 100, growth_rate: int = 12, num_classes: int = 10) -> nn.Module:
    """The factory the command line calls: ``--module examples/cifar_densenet.py:densenet_bc``."""
    return CifarDenseNetBC(depth, growth_rate, num_classes)
