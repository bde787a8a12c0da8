"""Records -> pandas tables, and tables -> CSV / Markdown / LaTeX text."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from densevis.errors import DenseVisError
from densevis.records import Trace

TABLE_FORMATS = ("csv", "markdown", "latex")

LAYER_COLUMNS = {
    "index": "#",
    "short_name": "layer",
    "kind": "kind",
    "block": "block",
    "position": "dense layer",
    "in_channels": "in ch",
    "out_channels": "out ch",
    "kernel": "kernel",
    "stride": "stride",
    "output_shape": "output shape",
    "params": "params",
    "macs": "MACs",
    "flops": "FLOPs",
    "activation_bytes": "activation bytes",
}


def layer_table(trace: Trace, latency_ms: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per op with readable column names; a latency column when measured."""
    frame = trace.to_dataframe()
    frame["short_name"] = [layer.short_name for layer in trace.ops]
    frame = frame[list(LAYER_COLUMNS)].rename(columns=LAYER_COLUMNS)
    if latency_ms is not None:
        frame["latency (ms)"] = [latency_ms.get(layer.name) for layer in trace.ops]
    return frame


def stage_table(trace: Trace) -> pd.DataFrame:
    """The paper's Table 1 from the trace: stage, output size, layers, channels in -> out."""
    rows = []
    for stage in trace.stages():
        shape = stage.output_shape
        rows.append(
            {
                "stage": stage.title,
                "output size": f"{shape[2]}x{shape[3]}" if len(shape) == 4 else f"{shape[1]}",
                "layers": stage.dense_layers,
                "channels in": stage.in_channels,
                "channels out": stage.out_channels,
                "params": stage.params,
                "MACs": stage.macs,
            }
        )
    return pd.DataFrame(rows)


def block_table(trace: Trace) -> pd.DataFrame:
    """One row per dense block: L, k0, k, links, channels, spatial size."""
    return pd.DataFrame(
        [
            {
                "block": block.index,
                "layers (L)": block.dense_layers,
                "k0": block.k0,
                "k": block.growth_rate,
                "links L(L+1)/2": block.links,
                "channels in": block.in_channels,
                "channels out": block.out_channels,
                "size": f"{block.height}x{block.width}",
            }
            for block in trace.blocks
        ]
    )


def table_text(frame: pd.DataFrame, fmt: str) -> str:
    """A table as CSV, GitHub Markdown or a LaTeX tabular (missing values left blank)."""
    frame = frame.astype(object).where(frame.notna(), "")
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "markdown":
        return frame.to_markdown(index=False) + "\n"
    if fmt == "latex":
        return frame.to_latex(index=False, escape=True)
    raise DenseVisError(f"unknown table format {fmt!r}; use one of {', '.join(TABLE_FORMATS)}")


def comparison_table(traces: Sequence[Trace],
                     latency_ms: Sequence[float | None] | None = None) -> pd.DataFrame:
    """Configs side by side: params, MACs, activation memory, final channels (and latency),
    with each row's change against the first."""
    rows = []
    base = traces[0].totals if traces else None
    for index, trace in enumerate(traces):
        totals = trace.totals
        row: dict[str, object] = {
            "config": trace.model,
            "k": trace.config.growth_rate,
            "blocks": "-".join(str(n) for n in trace.config.block_config),
            "params": totals.params,
            "MACs": totals.macs,
            "activation MiB": round(totals.activation_bytes / 2**20, 1),
            "final channels": trace.op("classifier").in_channels,
        }
        if base is not None and base.params:
            row["params vs first"] = f"{totals.params / base.params:.2f}x"
            row["MACs vs first"] = f"{totals.macs / base.macs:.2f}x" if base.macs else ""
        if latency_ms is not None:
            row["latency ms"] = latency_ms[index]
        rows.append(row)
    return pd.DataFrame(rows)
