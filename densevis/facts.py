"""Facts about DenseNet, checked against a trace.

The general facts — L(L+1)/2 links per block, k0 + k(l-1) input channels, transitions keeping
floor(theta * C) channels — hold for every DenseNet and are checked for whatever config was
traced. DenseNet-121's published op counts are checked only when the trace is DenseNet-121
(any input size), since another config rightly has other counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from densevis.config import PRESETS
from densevis.metrics import dense_links
from densevis.records import Trace

# DenseNet-121's ops, as published (torchvision's densenet121, the paper's Table 1).
DENSENET121_COUNTS = {"7x7": 1, "3x3": 58, "1x1": 61, "avgpool": 4, "linear": 1, "conv": 120}


@dataclass(frozen=True)
class FactCheck:
    statement: str  # the claim
    holds: bool
    measured: str  # what the trace shows; the difference when the claim does not hold
    scope: str = "any DenseNet"  # which models the claim is about


def _signed(value: int) -> str:
    return f"{value:+d}"


def is_densenet121(trace: Trace) -> bool:
    """The traced config is DenseNet-121's, at any input size."""
    reference = PRESETS["densenet121"]
    return trace.config is not None and \
        trace.config.replace(name=reference.name, input_size=reference.input_size) == reference


def layer_count_fact(trace: Trace) -> FactCheck:
    """DenseNet-121's published op counts against the trace's (meaningful for 121 only)."""
    counts = trace.counts()
    measured = {
        "7x7": counts["conv"].get("7x7", 0),
        "3x3": counts["conv"].get("3x3", 0),
        "1x1": counts["conv"].get("1x1", 0),
        "avgpool": counts["avgpool"],
        "linear": counts["linear"],
        "conv": sum(counts["conv"].values()),
    }
    text = (f"{measured['7x7']} 7×7 conv, {measured['3x3']} 3×3, {measured['1x1']} 1×1, "
            f"{measured['avgpool']} average pools, {measured['linear']} FC; "
            f"{measured['conv']} convolutions")
    differences = [f"{key} {_signed(measured[key] - DENSENET121_COUNTS[key])}"
                   for key in DENSENET121_COUNTS if measured[key] != DENSENET121_COUNTS[key]]
    if differences:
        text += " (vs DenseNet-121: " + ", ".join(differences) + ")"
    return FactCheck(
        statement="1 7×7 conv, 58 3×3, 61 1×1, 4 average pools, 1 FC; 120 convolutions",
        holds=not differences,
        measured=text,
        scope="DenseNet-121",
    )


def links_fact(trace: Trace) -> FactCheck:
    wrong = [f"block {b.index}: {b.links} links for L={b.dense_layers} "
             f"(formula {dense_links(b.dense_layers)})"
             for b in trace.blocks if b.links != dense_links(b.dense_layers)]
    shown = ", ".join(f"L={b.dense_layers} → {b.links}" for b in trace.blocks)
    return FactCheck("L(L+1)/2 links per block", not wrong, "; ".join(wrong) or shown)


def input_channels_fact(trace: Trace) -> FactCheck:
    wrong = []
    for layer in trace.dense_layers():
        block = trace.block(layer.block)
        expected = block.k0 + block.growth_rate * (layer.position - 1)
        if layer.in_channels != expected:
            wrong.append(f"{layer.name}: {layer.in_channels} (formula {expected})")
    shown = ", ".join(f"block {b.index}: {b.k0} + {b.growth_rate}(l−1)" for b in trace.blocks)
    return FactCheck("layer l sees k0 + k(l−1) input channels", not wrong,
                     "; ".join(wrong[:5]) or shown)


def transition_fact(trace: Trace) -> FactCheck:
    convs = [layer for layer in trace.ops
             if layer.stage.startswith("transition") and layer.kind == "conv"]
    theta = trace.config.compression if trace.config is not None else 0.5
    wrong = [f"{conv.in_channels} → {conv.out_channels} (formula "
             f"{math.floor(theta * conv.in_channels + 1e-9)})" for conv in convs
             if conv.out_channels != math.floor(theta * conv.in_channels + 1e-9)]
    shown = ", ".join(f"{conv.in_channels} → {conv.out_channels}" for conv in convs) or "none"
    halves = " (θ = 0.5 halves them)" if theta == 0.5 else ""
    return FactCheck(f"transitions keep ⌊θ·C⌋ channels, θ = {theta:g}{halves}", not wrong,
                     "; ".join(wrong) or shown)


def check_facts(trace: Trace) -> list[FactCheck]:
    """The general facts for any DenseNet, and DenseNet-121's op counts first when the trace
    is DenseNet-121."""
    general = [links_fact(trace), input_channels_fact(trace), transition_fact(trace)]
    return ([layer_count_fact(trace)] if is_densenet121(trace) else []) + general
