"""Plain, immutable records of a traced DenseNet: what everything after the tracer reads.

No torch objects live here (this module never imports torch): only ints, strings and tuples,
so records can be cached, pickled, compared, turned into JSON and drawn without a model.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from densevis.config import DenseNetConfig

if TYPE_CHECKING:
    import pandas as pd

OP_KINDS = ("conv", "batchnorm", "relu", "maxpool", "avgpool", "linear", "concat", "dropout")


@dataclass(frozen=True)
class Op:
    """One leaf operation of the network (a module call), in execution order."""

    index: int  # execution order, from 0
    name: str  # module path, torchvision's names: features.denseblock1.denselayer1.conv1
    kind: str  # one of OP_KINDS
    stage: str  # "stem", "block1", "transition1", ..., "head"
    block: int | None  # dense block number (1-based) for ops inside a block, else None
    position: int | None  # dense layer l (1-based) inside its block; None for the block output
    in_channels: int
    out_channels: int
    kernel: tuple[int, int] | None  # conv and pool kernels
    stride: tuple[int, int] | None
    padding: tuple[int, int] | None
    input_shape: tuple[int, ...]  # N, C, H, W of the (concatenated) input
    output_shape: tuple[int, ...]
    params: int
    macs: int  # conv + linear multiply-accumulates (see metrics.py)
    flops: int  # FlopCounterMode's convention: 2 * MACs
    activation_bytes: int  # bytes of the new tensor this op allocates (0 for in-place ReLU)
    sources: tuple[int, ...] = ()  # concat only: the block sources it joins (0 = block input)
    inputs: tuple[int, ...] = ()  # index of the op that made each input (-1 = network input)

    @property
    def short_name(self) -> str:
        """The name without the 'features.' prefix."""
        return self.name.removeprefix("features.")


@dataclass(frozen=True)
class Link:
    """A dense link: the output of source s (0 = block input x0) is read by layer target."""

    block: int
    source: int
    target: int


EDGE_KINDS = ("skip", "residual")


@dataclass(frozen=True)
class Edge:
    """A join outside the dense blocks: op ``source``'s output is a shortcut input of op
    ``target`` ("skip": a concatenation, e.g. FC-DenseNet encoder -> decoder; "residual": an
    addition). Not a dense link. Indices into ``Trace.ops``; -1 is the network input."""

    source: int
    target: int
    kind: str  # one of EDGE_KINDS


@dataclass(frozen=True)
class Block:
    """One dense block as traced."""

    index: int  # 1-based
    dense_layers: int  # L
    k0: int  # channels of the block input
    growth_rate: int  # k: channels each dense layer adds (measured from their outputs)
    links: int  # links into the block's dense layers: L(L+1)/2
    output_links: int  # sources joined by the block-output concatenation: L + 1
    in_channels: int
    out_channels: int
    height: int
    width: int


@dataclass(frozen=True)
class Stage:
    """A group of ops as in the paper's Table 1: stem, block i, transition i, head."""

    name: str  # "stem", "block1", "transition1", "head"
    title: str  # "Convolution + pooling", "Dense block 1", ...
    kind: str  # "stem", "block", "transition", "head"
    dense_layers: int  # L of a dense block; 0 elsewhere
    ops: int  # ops in the stage
    in_channels: int
    out_channels: int
    output_shape: tuple[int, ...]
    params: int
    macs: int
    flops: int
    activation_bytes: int


@dataclass(frozen=True)
class DenseLayerSummary:
    """One dense layer H_l (concat + BN-ReLU-conv ops) summed into a single row."""

    block: int
    position: int
    name: str  # features.denseblockB.denselayerL
    in_channels: int  # k0 + k(l-1)
    bottleneck_channels: int  # bn_size * k (0 without a bottleneck)
    out_channels: int  # k
    params: int
    macs: int
    flops: int
    activation_bytes: int


@dataclass(frozen=True)
class Totals:
    params: int
    macs: int
    flops: int
    activation_bytes: int
    depth: int  # weighted layers: convolutions + linear (121 for densenet121)


@dataclass(frozen=True)
class Trace:
    """The whole traced network."""

    model: str
    config: DenseNetConfig | None  # None for a module densevis did not build
    device: str
    batch_size: int
    dtype: str
    totals: Totals
    blocks: tuple[Block, ...]
    ops: tuple[Op, ...]  # every op in execution order
    links: tuple[Link, ...]  # links into dense layers only
    output_links: tuple[Link, ...]  # block output concatenation: target = L + 1
    edges: tuple[Edge, ...] = ()  # skip and residual joins outside dense blocks
    input_shape: tuple[int, ...] = ()  # N, C, H, W of the traced input

    @property
    def image_shape(self) -> tuple[int, ...]:
        """C, H, W of the traced input."""
        if self.input_shape:
            return self.input_shape[1:]
        assert self.config is not None
        return (self.config.in_channels, *self.config.input_size)

    @property
    def is_custom(self) -> bool:
        """Traced from a module densevis did not build (no DenseNetConfig behind it)."""
        return self.config is None

    def edge_name(self, index: int) -> str:
        """The op name at one end of an Edge ("input" for the network input)."""
        return "input" if index < 0 else self.ops[index].short_name

    @property
    def layers(self) -> tuple[Op, ...]:
        """Deprecated alias of ``ops`` (these are ops, not the paper's dense layers)."""
        warnings.warn("Trace.layers is deprecated: use Trace.ops", DeprecationWarning,
                      stacklevel=2)
        return self.ops

    # ------------------------------------------------------------------ derived views

    def counts(self) -> dict[str, Any]:
        """Op kinds counted from the trace; convolutions split by kernel ("7x7", ...)."""
        kinds = Counter(layer.kind for layer in self.ops)
        conv = Counter(
            f"{layer.kernel[0]}x{layer.kernel[1]}"
            for layer in self.ops
            if layer.kind == "conv" and layer.kernel
        )
        return {
            "conv": dict(sorted(conv.items(), key=lambda item: -int(item[0].split("x")[0]))),
            "avgpool": kinds["avgpool"],
            "maxpool": kinds["maxpool"],
            "linear": kinds["linear"],
            "batchnorm": kinds["batchnorm"],
            "relu": kinds["relu"],
            "concat": kinds["concat"],
        }

    def op(self, name: str) -> Op:
        """An op by module path (with or without the 'features.' prefix)."""
        for layer in self.ops:
            if name in (layer.name, layer.short_name):
                return layer
        raise KeyError(name)

    def block(self, index: int) -> Block:
        return self.blocks[index - 1]

    def block_links(self, index: int) -> tuple[Link, ...]:
        return tuple(link for link in self.links if link.block == index)

    def stages(self) -> tuple[Stage, ...]:
        """Ops grouped into the stages of the paper's Table 1, in order."""
        groups: dict[str, list[Op]] = {}
        for layer in self.ops:
            groups.setdefault(layer.stage, []).append(layer)
        stages = []
        for name, members in groups.items():
            kind = name.rstrip("0123456789")
            number = name[len(kind):]
            if kind == "block":
                dense_layers = self.block(int(number)).dense_layers
                title = f"Dense block {number}"
            else:
                dense_layers = 0
                head = "Classification" if self.config is not None else "Head"
                title = {"stem": "Stem", "transition": f"Transition {number}",
                         "head": head}.get(kind, name)
            stages.append(
                Stage(
                    name=name,
                    title=title,
                    kind=kind,
                    dense_layers=dense_layers,
                    ops=len(members),
                    in_channels=members[0].in_channels,
                    out_channels=members[-1].out_channels,
                    output_shape=members[-1].output_shape,
                    params=sum(m.params for m in members),
                    macs=sum(m.macs for m in members),
                    flops=sum(m.flops for m in members),
                    activation_bytes=sum(m.activation_bytes for m in members),
                )
            )
        return tuple(stages)

    def dense_layers(self, block: int | None = None) -> tuple[DenseLayerSummary, ...]:
        """Every dense layer H_l as one row (optionally of one block)."""
        groups: dict[tuple[int, int], list[Op]] = {}
        for layer in self.ops:
            inside = layer.position is not None and layer.block is not None
            if inside and (block is None or layer.block == block):
                groups.setdefault((layer.block, layer.position), []).append(layer)
        rows, names = [], set()
        for (block_index, position), members in groups.items():
            convs = [m for m in members if m.kind == "conv"] or members
            # the module holding the layer's first own op (a chained concat lives in the block)
            own = next((m for m in members if m.kind != "concat"), members[0])
            name = own.name.rsplit(".", 1)[0]
            name = name if name not in names else f"{name}.H{position}"
            names.add(name)
            rows.append(
                DenseLayerSummary(
                    block=block_index,
                    position=position,
                    name=name,
                    in_channels=members[0].in_channels,
                    bottleneck_channels=convs[0].out_channels if len(convs) > 1 else 0,
                    out_channels=convs[-1].out_channels,
                    params=sum(m.params for m in members),
                    macs=sum(m.macs for m in members),
                    flops=sum(m.flops for m in members),
                    activation_bytes=sum(m.activation_bytes for m in members),
                )
            )
        return tuple(rows)

    def source_channels(self, block: int) -> dict[int, int]:
        """Channels each source of a block contributes: 0 = the block input (k0), l = H_l."""
        widths = {0: self.block(block).k0}
        widths.update({row.position: row.out_channels for row in self.dense_layers(block)})
        return widths

    def joined_sources(self, block: int, position: int | None) -> tuple[int, ...]:
        """Sources joined for dense layer ``position`` (None: the block output), in order; a
        layer that reads the block input directly (chained style, H1) joins just (0,)."""
        concats = [op for op in self.ops if op.kind == "concat" and op.block == block
                   and op.position == position]
        if not concats:
            return (0,)
        # a layer's own concat comes first; a block output that re-joins only the new
        # features (FC-DenseNet's up path) comes after the unused last concatenation
        return (concats[-1] if position is None else concats[0]).sources

    def input_slices(self, block: int, position: int) -> tuple[tuple[int, int, int], ...]:
        """(source, start, end) channel slices of dense layer ``position``'s input, in the
        order its concatenation joined them (source 0 = block input)."""
        widths = self.source_channels(block)
        slices, start = [], 0
        for source in self.joined_sources(block, position):
            slices.append((source, start, start + widths[source]))
            start += widths[source]
        return tuple(slices)

    # ------------------------------------------------------------------ serialisation

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``densevis summary --format json``."""
        return {
            "model": self.model,
            "config": self.config.to_dict() if self.config is not None else None,
            "device": self.device,
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "totals": asdict(self.totals),
            "counts": self.counts(),
            "blocks": [asdict(block) for block in self.blocks],
            "ops": [_op_dict(op) for op in self.ops],
            "links": [asdict(link) for link in self.links],
            "output_links": [asdict(link) for link in self.output_links],
            "edges": [asdict(edge) for edge in self.edges],
            "input_shape": list(self.input_shape),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """Inverse of to_dict (for cached or saved traces)."""
        return cls(
            model=data["model"],
            config=DenseNetConfig.from_dict(data["config"]) if data["config"] else None,
            device=data["device"],
            batch_size=data["batch_size"],
            dtype=data["dtype"],
            totals=Totals(**data["totals"]),
            blocks=tuple(Block(**block) for block in data["blocks"]),
            ops=tuple(_op_from_dict(op) for op in data["ops"]),
            links=tuple(Link(**link) for link in data["links"]),
            output_links=tuple(Link(**link) for link in data["output_links"]),
            edges=tuple(Edge(**edge) for edge in data.get("edges", ())),
            input_shape=tuple(data.get("input_shape", ())),
        )

    def to_dataframe(self) -> pd.DataFrame:
        """The per-layer table (one row per op) as a pandas DataFrame."""
        import pandas as pd

        rows = []
        for layer in self.ops:
            row = _op_dict(layer)
            row.pop("sources")
            row.pop("inputs")
            for key in ("kernel", "stride", "padding"):
                value = row[key]
                row[key] = f"{value[0]}x{value[1]}" if value else ""
            row["input_shape"] = "x".join(str(v) for v in layer.input_shape)
            row["output_shape"] = "x".join(str(v) for v in layer.output_shape)
            rows.append(row)
        frame = pd.DataFrame(rows)
        return frame.astype({"block": "Int64", "position": "Int64"})


def _op_dict(layer: Op) -> dict[str, Any]:
    data = asdict(layer)
    for key in ("kernel", "stride", "padding", "input_shape", "output_shape", "sources",
                "inputs"):
        if data[key] is not None:
            data[key] = list(data[key])
    return data


def _op_from_dict(data: dict[str, Any]) -> Op:
    values = dict(data)
    for key in ("kernel", "stride", "padding", "input_shape", "output_shape", "sources",
                "inputs"):
        if values.get(key) is not None:
            values[key] = tuple(values[key])
    return Op(**values)
