"""Human-readable numbers, shared by the CLI, the tables, the diagrams and the app."""

from __future__ import annotations


def format_bytes(value: float) -> str:
    """1536 -> '1.5 KiB' (binary units)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def format_count(value: int) -> str:
    """7978856 -> '7,978,856'."""
    return f"{int(value):,}"


_SI = (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3))


def format_si(value: float, digits: int = 3) -> str:
    """2834000000 -> '2.834 G' (decimal units, for MACs and FLOPs)."""
    for unit, scale in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}f} {unit}"
    return f"{value:g}"


def format_compact(value: float) -> str:
    """70400 -> '70.4K': three significant digits and no space, for narrow diagram nodes."""
    for unit, scale in _SI:
        if abs(value) >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"
