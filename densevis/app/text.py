"""User text shown safely in markdown."""

from __future__ import annotations

import re


def plain(text: object) -> str:
    """User text as a markdown code span: shown as typed, never a link, image, HTML or
    directive (the fence is longer than any run of backticks inside)."""
    words = " ".join(str(text).split())
    fence = "`" * (max(map(len, re.findall("`+", words)), default=0) + 1)
    return f"{fence} {words} {fence}"
