"""Find a dense layer by the text people type: a full name, a part of one, or "3.12"."""

from __future__ import annotations

from densevis.records import DenseLayerSummary, Trace


def find_dense_layer(trace: Trace, query: str) -> DenseLayerSummary | None:
    """The dense layer a query names: "features.denseblock3.denselayer12",
    "denseblock3.denselayer12", the shorthand "3.12", or the first name containing the text."""
    text = query.strip().lower().removeprefix("features.")
    parts = text.split(".")
    if len(parts) == 2 and all(part.isdigit() for part in parts):
        text = f"denseblock{int(parts[0])}.denselayer{int(parts[1])}"
    if not text:
        return None
    rows = trace.dense_layers()
    short = [row.name.removeprefix("features.") for row in rows]
    exact = [row for row, name in zip(rows, short, strict=True) if name == text]
    partial = [row for row, name in zip(rows, short, strict=True) if text in name]
    return (exact or partial or [None])[0]
