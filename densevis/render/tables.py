"""Records -> pandas tables, and tables -> CSV / Markdown / LaTeX text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from densevis.errors import DenseVisError
from densevis.records import Stage, Trace
from densevis.render.configs import config_names
from densevis.units import format_count

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


def stage_rows(trace: Trace) -> list[dict[str, object]]:
    """The paper's Table 1 from the trace, one dict per stage: stage, output size, dense layers
    (L of a block, None elsewhere), channels in -> out, params, MACs."""
    rows = []
    for stage in trace.stages():
        shape = stage.output_shape
        rows.append(
            {
                "stage": stage.title,
                "output size": f"{shape[2]}x{shape[3]}" if len(shape) == 4 else f"{shape[1]}",
                "dense layers": stage.dense_layers if stage.kind == "block" else None,
                "channels in": stage.in_channels,
                "channels out": stage.out_channels,
                "params": stage.params,
                "MACs": stage.macs,
            }
        )
    return rows


def stage_table(trace: Trace) -> pd.DataFrame:
    """Table 1 (``stage_rows``) as a frame."""
    return pd.DataFrame(stage_rows(trace)).astype({"dense layers": "Int64"})


def display_markdown(rows: Sequence[Mapping[str, object]]) -> str:
    """Rows of a small table as GitHub Markdown for the screen: whole numbers with thousands
    separators, right-aligned; blanks for missing values. No pandas: a Styler for Table 1 cost
    10 ms a rerun, 40% of a cached Overview under load, and a frame's string columns 5 more."""
    columns = list(rows[0]) if rows else []
    numeric = {column for column in columns
               if all(isinstance(row[column], int | None) for row in rows)}

    def cell(value: object) -> str:
        text = "" if value is None else format_count(value) if isinstance(value, int) else str(
            value)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |",
             "|" + "|".join("---:" if column in numeric else ":---" for column in columns) + "|"]
    lines += ["| " + " | ".join(cell(row[column]) for column in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


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
    """Configs side by side: input size, stem, params, MACs, activation memory, final channels
    (and latency), with each row's change against the first."""
    rows = []
    base = traces[0].totals if traces else None
    names = config_names([trace.config for trace in traces])
    for index, (trace, name) in enumerate(zip(traces, names, strict=True)):
        totals, config = trace.totals, trace.config
        row: dict[str, object] = {
            "config": name,
            "k": config.growth_rate,
            "blocks": "-".join(str(n) for n in config.block_config),
            "input": "×".join(str(v) for v in config.input_size),
            "stem": config.stem,
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


def _stage_latency(trace: Trace, latency_ms: Mapping[str, float] | None) -> dict[str, float]:
    """Measured milliseconds per stage name (only stages with a measured op)."""
    totals: dict[str, float] = {}
    for op in trace.ops:
        if latency_ms and op.name in latency_ms:
            totals[op.stage] = totals.get(op.stage, 0.0) + latency_ms[op.name]
    return totals


def _stage_facts(stage: Stage) -> tuple[int, int, int, int, int]:
    return (stage.dense_layers, stage.in_channels, stage.out_channels, stage.params, stage.macs)


def differing_stages(traces: Sequence[Trace]) -> list[str]:
    """Names of the stages (stem, blockN, transitionN, head) whose dense layers, channels,
    params or MACs differ between the configs, or that some configs lack; in network order."""
    by_config = [{stage.name: _stage_facts(stage) for stage in t.stages()} for t in traces]
    names = _stage_order(traces)
    return [name for name in names
            if len({facts.get(name) for facts in by_config}) > 1]


def _stage_order(traces: Sequence[Trace]) -> list[str]:
    """Every stage name of any config, in network order (the config with most stages first)."""
    longest = max(traces, key=lambda t: len(t.stages()))
    names = [stage.name for stage in longest.stages()]
    extra = [s.name for t in traces for s in t.stages() if s.name not in names]
    return names + list(dict.fromkeys(extra))


def _change(value: float | None, first: float | None) -> tuple[object, object]:
    """(Δ, ×) of a value against the first config's ("" where it cannot be said)."""
    if value is None or first is None:
        return "", ""
    return value - first, f"{value / first:.2f}x" if first else ""


def stage_difference_table(traces: Sequence[Trace],
                           latency_ms: Sequence[Mapping[str, float] | None] | None = None,
                           differences_only: bool = False) -> pd.DataFrame:
    """Per stage (stem, each dense block and transition, head), one row per config: dense
    layers, channels in/out, params, MACs, activation memory and measured latency, with Δ and
    × against the first config's same stage."""
    if not traces:
        raise DenseVisError("the difference table needs at least one traced config")
    names = config_names([t.config for t in traces])
    stages = [{s.name: s for s in t.stages()} for t in traces]
    times = [_stage_latency(t, (latency_ms or [None] * len(traces))[i])
             for i, t in enumerate(traces)]
    keep = set(differing_stages(traces)) if differences_only else None
    rows = []
    for stage_name in _stage_order(traces):
        if keep is not None and stage_name not in keep:
            continue
        first = stages[0].get(stage_name)
        for index, name in enumerate(names):
            stage = stages[index].get(stage_name)
            if stage is not None:
                rows.append(_difference_row(stage, name, first, times[index].get(stage_name),
                                            times[0].get(stage_name), latency_ms is not None))
    return pd.DataFrame(rows).astype({"dense layers": "Int64"})


def _difference_row(stage: Stage, name: str, first: Stage | None, ms: float | None,
                    first_ms: float | None, timed: bool) -> dict[str, object]:
    row: dict[str, object] = {
        "stage": stage.title, "config": name,
        "dense layers": stage.dense_layers if stage.kind == "block" else None,
        "channels in": stage.in_channels, "channels out": stage.out_channels,
        "params": stage.params, "MACs": stage.macs,
        "activation MiB": round(stage.activation_bytes / 2**20, 2),
    }
    for label, attr in (("params", "params"), ("MACs", "macs"),
                        ("activation MiB", "activation_bytes")):
        value = getattr(stage, attr)
        delta, ratio = _change(value, getattr(first, attr) if first is not None else None)
        if label == "activation MiB" and delta != "":
            delta = round(float(delta) / 2**20, 2)
        row[f"Δ {label}"], row[f"× {label}"] = delta, ratio
    if timed:
        row["latency ms"] = ms
        row["Δ latency ms"], row["× latency"] = _change(ms, first_ms)
    return row
