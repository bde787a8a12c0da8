"""The design card's facts about DenseNet, checked against a trace.

The DenseNet-121 counts are the seed's literal claims, so another config shows the measured
difference; the formulas (L(L+1)/2 links, k0 + k(l-1) inputs, theta-compression) are checked
for whatever config was traced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from densevis.metrics import dense_links
from densevis.records import Trace

SEED_COUNTS = {"7x7": 1, "3x3": 58, "1x1": 61, "avgpool": 4, "linear": 1, "conv": 120}


@dataclass(frozen=True)
class FactCheck:
    statement: str  # the claim, as the design card words it
    holds: bool
    measured: str  # what the trace shows; the difference when the claim does not hold


def _signed(value: int) -> str:
    return f"{value:+d}"


def layer_count_fact(trace: Trace) -> FactCheck:
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
    differences = [f"{key} {_signed(measured[key] - SEED_COUNTS[key])}"
                   for key in SEED_COUNTS if measured[key] != SEED_COUNTS[key]]
    if differences:
        text += " (vs DenseNet-121: " + ", ".join(differences) + ")"
    return FactCheck(
        statement="1 7×7 conv, 58 3×3, 61 1×1, 4 average pools, 1 FC; 120 convolutions",
        holds=not differences,
        measured=text,
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
    halved = all(conv.out_channels == conv.in_channels // 2 for conv in convs)
    theta = trace.config.compression
    shown = ", ".join(f"{conv.in_channels} → {conv.out_channels}" for conv in convs) or "none"
    if not halved:
        follows = all(conv.out_channels == math.floor(theta * conv.in_channels + 1e-9)
                      for conv in convs)
        shown += f" (θ = {theta:g}{', as configured' if follows else ''})"
    return FactCheck("transitions halve the channels (θ = 0.5)", halved, shown)


def check_facts(trace: Trace) -> list[FactCheck]:
    """Every fact, in the order the design card lists them."""
    return [layer_count_fact(trace), links_fact(trace), input_channels_fact(trace),
            transition_fact(trace)]
