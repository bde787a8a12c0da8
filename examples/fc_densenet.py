"""A small FC-DenseNet ("Tiramisu", Jegou et al. 2017) for segmentation.

Dense blocks on the way down keep their input (``x = cat([x, layer(x)])``); the bottleneck and
the blocks on the way up pass on only the features they made, to keep the widths in check.
Transition down: BN-ReLU-1x1 conv-2x2 max pool. Transition up: a 3x3 transposed convolution
with stride 2, whose output is concatenated with the encoder block of the same resolution: a
*skip* concatenation, not a dense link. The output has one channel per class at the input's
resolution.

    densevis summary --module examples/fc_densenet.py:fc_densenet
"""

from __future__ import annotations

import torch
from torch import nn


class DenseLayer(nn.Sequential):
    """BN-ReLU-3x3 conv: k new channels."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, growth_rate, 3, padding=1, bias=False)


class DenseBlock(nn.Module):
    """L dense layers; ``new_only``: return only the L * k channels the layers made."""

    def __init__(self, layers: int, in_channels: int, growth_rate: int, new_only: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + index * growth_rate, growth_rate) for index in range(layers)
        )
        self.new_only = new_only

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        made = []
        for layer in self.layers:
            out = layer(x)
            made.append(out)
            x = torch.cat([x, out], 1)
        return torch.cat(made, 1) if self.new_only else x


class TransitionDown(nn.Sequential):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        self.pool = nn.MaxPool2d(2)


class FCDenseNet(nn.Module):
    """Encoder blocks ``down``, a bottleneck block, decoder blocks ``down`` reversed."""

    input_size = (3, 64, 64)

    def __init__(self, down: tuple[int, ...] = (2, 3), bottleneck: int = 4,
                 growth_rate: int = 8, stem_channels: int = 24, num_classes: int = 5) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, stem_channels, 3, padding=1, bias=False)
        channels, skips = stem_channels, []
        self.down_blocks, self.transitions_down = nn.ModuleList(), nn.ModuleList()
        for layers in down:
            self.down_blocks.append(DenseBlock(layers, channels, growth_rate, new_only=False))
            channels += layers * growth_rate
            skips.append(channels)
            self.transitions_down.append(TransitionDown(channels))
        self.bottleneck = DenseBlock(bottleneck, channels, growth_rate, new_only=True)
        made = bottleneck * growth_rate
        self.transitions_up, self.up_blocks = nn.ModuleList(), nn.ModuleList()
        for index, layers in enumerate(reversed(down)):
            self.transitions_up.append(nn.ConvTranspose2d(made, made, 3, stride=2, padding=1,
                                                          output_padding=1))
            channels = made + skips[-1 - index]
            last = index == len(down) - 1
            self.up_blocks.append(DenseBlock(layers, channels, growth_rate, new_only=not last))
            made = channels + layers * growth_rate if last else layers * growth_rate
        self.head = nn.Conv2d(made, num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        skips = []
        for block, transition in zip(self.down_blocks, self.transitions_down, strict=True):
            x = block(x)
            skips.append(x)
            x = transition(x)
        x = self.bottleneck(x)
        for up, block in zip(self.transitions_up, self.up_blocks, strict=True):
            x = torch.cat([up(x), skips.pop()], 1)  # the skip concatenation
            x = block(x)
        return self.head(x)


def fc_densenet(down: tuple[int, ...] = (2, 3), bottleneck: int = 4, growth_rate: int = 8,
                num_classes: int = 5) -> nn.Module:
    """``--module examples/fc_densenet.py:fc_densenet --module-args '{"growth_rate": 12}'``."""
    return FCDenseNet(tuple(down), bottleneck, growth_rate, num_classes=num_classes)
