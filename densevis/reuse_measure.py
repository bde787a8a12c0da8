"""From a model's weights to plain records: the feature-reuse heat map (the DenseNet paper's
Figure 5, ``densevis.reuse``) and each op's weight statistics (``densevis.weight_stats``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from densevis.errors import DenseVisError
from densevis.model import DenseNet
from densevis.reuse import BlockReuse, FeatureReuse
from densevis.weight_stats import TensorStats, WeightStats
from densevis.weights import LoadedCheckpoint


def _mean_abs(weight: torch.Tensor, start: int, stop: int) -> float:
    """Mean |W| over out-channels, kernel and input channels start..stop-1."""
    return float(weight[:, start:stop].abs().mean())


def feature_reuse(model: DenseNet | LoadedCheckpoint, weights: str | None = None
                  ) -> FeatureReuse:
    """Figure 5 of the DenseNet paper for every block of ``model`` (records, no tensors).

    ``weights`` names where the weights came from (defaults to the checkpoint's source, or
    "random initialisation" for a bare model).
    """
    if isinstance(model, LoadedCheckpoint):
        weights = weights or Path(model.source).name
        model = model.model
    if not isinstance(model, DenseNet):
        raise DenseVisError(f"feature reuse needs a densevis DenseNet, got {type(model).__name__}")
    config = model.config
    features = model.features
    blocks = []
    count = len(config.block_config)
    with torch.no_grad():
        for index in range(1, count + 1):
            block = getattr(features, f"denseblock{index}")
            dense = block.dense_layers()
            conv_name = "conv1" if dense[0].bottleneck else "conv2"
            first = getattr(dense[0], conv_name).weight
            k0 = int(first.shape[1])
            k = int(dense[0].conv2.weight.shape[0])
            size = len(dense)

            def ranges(sources: int, k0: int = k0, k: int = k) -> list[tuple[int, int]]:
                return [(0, k0)] + [(k0 + k * (s - 1), k0 + k * s) for s in range(1, sources)]

            columns: list[list[float | None]] = []
            for position, layer in enumerate(dense, start=1):
                weight = getattr(layer, conv_name).weight.detach().float().cpu()
                if int(weight.shape[1]) != k0 + k * (position - 1):
                    raise DenseVisError(f"block {index} layer {position}: unexpected input width")
                column: list[float | None] = [_mean_abs(weight, a, b)
                                              for a, b in ranges(position)]
                columns.append(column + [None] * (size + 1 - position))
            if index < count:
                final, final_name = "transition", f"features.transition{index}.conv"
                weight = getattr(features, f"transition{index}").conv.weight
            else:
                final, final_name = "classifier", "classifier"
                weight = model.classifier.weight
            weight = weight.detach().float().cpu()
            columns.append([_mean_abs(weight, a, b) for a, b in ranges(size + 1)])
            values = tuple(tuple(col[s] for col in columns) for s in range(size + 1))
            blocks.append(BlockReuse(block=index, layers=size, k0=k0, growth_rate=k,
                                     final=final, final_name=final_name, conv=conv_name,
                                     values=values))
    return FeatureReuse(model=config.label, config=config,
                        weights=weights or "random initialisation", blocks=tuple(blocks))


def weight_stats(loaded: LoadedCheckpoint) -> WeightStats:
    """Mean |W|, min and max of every learned tensor, keyed by op name (the module path, as
    the trace names ops and the state_dict names tensors)."""
    ops: dict[str, list[TensorStats]] = {}
    with torch.no_grad():
        for name, parameter in loaded.model.named_parameters():
            op, tensor = name.rsplit(".", 1)
            values = parameter.detach().float()
            ops.setdefault(op, []).append(TensorStats(
                tensor=tensor, shape=tuple(values.shape), mean_abs=float(values.abs().mean()),
                min=float(values.min()), max=float(values.max())))
    return WeightStats(source=Path(loaded.source).name, config=loaded.config,
                       ops=tuple((op, tuple(tensors)) for op, tensors in ops.items()))
