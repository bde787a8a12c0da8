"""Pure cost formulas over plain numbers (no torch), each with its convention stated.

MACs: multiply-accumulates of convolutions and linear layers only; the convention of
torchvision's published "GFLOPS" and torchinfo's "mult-adds". Biases, BN, ReLU and pools add
no MACs.

FLOPs: the convention of ``torch.utils.flop_counter.FlopCounterMode``: 2 FLOPs per MAC for
convolutions and matrix multiplies, bias additions and all other ops not counted. So
FLOPs == 2 * MACs for every layer here, and the tests check it against the counter itself.
"""

from __future__ import annotations

from math import prod


def conv_macs(
    output_shape: tuple[int, ...], in_channels: int, kernel: tuple[int, int], groups: int = 1
) -> int:
    """Each output value is a dot product of (in_channels / groups) * kh * kw pairs."""
    return prod(output_shape) * (in_channels // groups) * kernel[0] * kernel[1]


def linear_macs(output_shape: tuple[int, ...], in_features: int) -> int:
    """Each output value is a dot product of in_features pairs."""
    return prod(output_shape) * in_features


def flops_from_macs(macs: int) -> int:
    """FlopCounterMode's convention: one multiply plus one add per MAC."""
    return 2 * macs


def tensor_bytes(shape: tuple[int, ...], element_size: int) -> int:
    """Bytes of a dense tensor of this shape."""
    return prod(shape) * element_size


def dense_links(layers: int) -> int:
    """Links into the layers of a block of L layers: layer l reads l sources, so L(L+1)/2."""
    return layers * (layers + 1) // 2


def arithmetic_intensity(flops: int, bytes_moved: int) -> float:
    """FLOPs per byte of inputs, weights and outputs (the roofline x axis)."""
    return flops / bytes_moved if bytes_moved else 0.0
