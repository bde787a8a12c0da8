"""Checks of plain API arguments shared by every entry point (one rule, one message)."""

from __future__ import annotations

from typing import Any

from densevis.errors import DenseVisError


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as a whole number >= ``minimum`` (True/False and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise DenseVisError(f"{name} must be {need}, got {value!r}")
    return value


def check_batch_size(value: Any) -> int:
    """A batch size: a positive whole number."""
    return check_count("batch size", value, 1)
