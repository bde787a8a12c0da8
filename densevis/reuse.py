"""Feature-reuse records: the DenseNet paper's Figure 5 as plain values (no torch).

``densevis.reuse_measure.feature_reuse(model)`` fills these from a model's weights; the renderers
and the app only read them.

Pixel (s, l) of a block's matrix is the mean absolute weight of layer l's first convolution
over the input channels that came from source s (s = 0 is the block input), i.e. the average
L1 norm of the weights from s to l normalised by the number of feature maps s contributes.
The last column is the layer that reads the whole block output: the transition's 1x1
convolution, or the classifier for the last block.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from densevis.config import DenseNetConfig

if TYPE_CHECKING:
    import pandas as pd

REUSE_NOTE = (
    "Each pixel (s, l) is the mean absolute weight that layer l (column) puts on the feature "
    "maps produced by source s (row; 0 = the block's input), as in Figure 5 of the DenseNet "
    "paper. With random (freshly initialised) weights the map is near-uniform along each "
    "column and shows nothing: the pattern only appears after training. With trained weights "
    "it shows how far back layers still read: many later layers keep weight on early "
    "features, even the block input. The last column (the transition, or the classifier "
    "after the last block) reads the whole block output and typically weights the latest "
    "layers most. These are weight magnitudes, not measured information flow: a large "
    "weight on a near-constant feature map can still contribute little."
)


def _json_number(value: float | None) -> float | None:
    """NaN or infinity (from NaN weights) -> None, so the JSON stays valid."""
    return value if value is None or math.isfinite(value) else None


@dataclass(frozen=True)
class BlockReuse:
    """One dense block's heat map: rows are sources 0..L, columns targets 1..L then final."""

    block: int  # 1-based
    layers: int  # L
    k0: int  # channels of the block input (source 0)
    growth_rate: int  # k: channels each source s >= 1 contributes
    final: str  # "transition" or "classifier": what reads the block output
    final_name: str  # its module path, e.g. "features.transition1.conv" or "classifier"
    conv: str  # the dense layers' first convolution read: "conv1" or "conv2" (bn_size = 0)
    values: tuple[tuple[float | None, ...], ...]  # [source][column]; None where no link

    @property
    def column_labels(self) -> list[str]:
        return [str(target) for target in range(1, self.layers + 1)] + [self.final]

    @property
    def row_labels(self) -> list[str]:
        return ["input"] + [str(source) for source in range(1, self.layers + 1)]

    def value(self, source: int, target: int | str) -> float | None:
        """Pixel (source, target); ``target`` is 1..L, or "final" / the final column's name."""
        column = self.layers if target in ("final", self.final) else int(target) - 1
        if not 0 <= column <= self.layers or not 0 <= source <= self.layers:
            raise IndexError(f"no pixel ({source}, {target}) in block {self.block}")
        return self.values[source][column]

    def column(self, target: int | str) -> list[float | None]:
        """One column (what one layer reads), sources 0..L."""
        return [self.value(source, target) for source in range(self.layers + 1)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "block": self.block,
            "layers": self.layers,
            "k0": self.k0,
            "growth_rate": self.growth_rate,
            "final": self.final,
            "final_name": self.final_name,
            "conv": self.conv,
            "rows": self.row_labels,
            "columns": self.column_labels,
            "values": [[_json_number(v) for v in row] for row in self.values],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BlockReuse:
        return cls(
            block=data["block"],
            layers=data["layers"],
            k0=data["k0"],
            growth_rate=data["growth_rate"],
            final=data["final"],
            final_name=data["final_name"],
            conv=data["conv"],
            values=tuple(tuple(row) for row in data["values"]),
        )

    def to_matrix(self) -> pd.DataFrame:
        """The wide matrix: index = source labels, columns = target labels (NaN: no link)."""
        import pandas as pd

        frame = pd.DataFrame(
            [[float("nan") if v is None else v for v in row] for row in self.values],
            index=pd.Index(self.row_labels, name="source"),
            columns=self.column_labels,
        )
        return frame


@dataclass(frozen=True)
class FeatureReuse:
    """Heat maps of every dense block of one model."""

    model: str  # config label, e.g. "densenet121"
    config: DenseNetConfig
    weights: str  # where the weights came from: a file name, or "random initialisation"
    blocks: tuple[BlockReuse, ...]

    @property
    def random_weights(self) -> bool:
        return self.weights == "random initialisation"

    def block(self, index: int) -> BlockReuse:
        if not 1 <= index <= len(self.blocks):
            from densevis.errors import DenseVisError

            raise DenseVisError(
                f"block {index} does not exist; this model has blocks 1..{len(self.blocks)}"
            )
        return self.blocks[index - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "config": self.config.to_dict(),
            "weights": self.weights,
            "definition": "pixel (s, l) = mean |W| of layer l's first convolution over the input "
            "channels from source s (out-channels, kernel and those channels averaged)",
            "note": REUSE_NOTE,
            "blocks": [block.to_dict() for block in self.blocks],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureReuse:
        return cls(
            model=data["model"],
            config=DenseNetConfig.from_dict(data["config"]),
            weights=data["weights"],
            blocks=tuple(BlockReuse.from_dict(block) for block in data["blocks"]),
        )

    def to_dataframe(self) -> pd.DataFrame:
        """Long form: one row per linked pixel (block, source, target, value)."""
        import pandas as pd

        rows = []
        for block in self.blocks:
            for source, row in enumerate(block.values):
                for label, value in zip(block.column_labels, row, strict=True):
                    if value is not None:
                        rows.append({"block": block.block, "source": source,
                                     "target": label, "value": value})
        return pd.DataFrame(rows, columns=["block", "source", "target", "value"])
