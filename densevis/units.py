"""Human-readable numbers, one format per kind, shared by the CLI, the tables, the diagrams
and the app:

* cards, headlines and diagrams: SI prefixes with 3 significant digits (``format_si``:
  2834000000 -> "2.83 G"; ``format_bytes``: binary prefixes, 1536 -> "1.5 KiB");
* tables: every digit, with thousands separators (``format_count``: 7978856 -> "7,978,856"),
  in one unit per column named in the header.
"""

from __future__ import annotations

import math

_SI = (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3), ("", 1.0))
_BINARY = (("EiB", 1024**6), ("PiB", 1024**5), ("TiB", 1024**4), ("GiB", 1024**3),
           ("MiB", 1024**2), ("KiB", 1024), ("B", 1))


def _significant(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, trailing zeros dropped, never exponent
    notation below 10**digits."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scaled(value: float, units: tuple[tuple[str, float], ...], digits: int) -> str:
    """In the largest unit whose rounded mantissa is at least 1 (999950 -> '1 M')."""
    if not math.isfinite(value):
        return f"{value:g}"
    for unit, scale in units:
        text = _significant(value / scale, digits)
        if abs(float(text)) >= 1 or scale == 1:
            return f"{text} {unit}".rstrip()
    raise AssertionError("unreachable")


def format_si(value: float, digits: int = 3) -> str:
    """2834000000 -> '2.83 G', 70400 -> '70.4 K', 512 -> '512' (decimal prefixes)."""
    return _scaled(value, _SI, digits)


def format_bytes(value: float) -> str:
    """1536 -> '1.5 KiB', 8246337208 -> '7.68 GiB' (binary prefixes, 3 significant digits)."""
    return _scaled(value, _BINARY, 3)


def format_count(value: int) -> str:
    """7978856 -> '7,978,856': every digit, for tables."""
    return f"{int(value):,}"
