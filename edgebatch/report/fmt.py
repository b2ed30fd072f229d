"""Turning values into short strings for report cells. None (a missing value) is "—"."""

from __future__ import annotations

import math
from typing import Any

from edgebatch.metrics import is_number
from edgebatch.units import MB

DASH = "—"


def value(x: Any) -> str:
    """Any value: 3 significant digits for floats, yes/no for booleans, str() otherwise."""
    if x is None:
        return DASH
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        return f"{x:.3g}" if math.isfinite(x) else str(x)
    return str(x)


def decimal(x: Any, places: int = 2) -> str:
    """Times and sizes: fixed decimals, or 2 significant digits where those would show 0."""
    if not is_number(x):
        return value(x)
    if x != 0 and abs(x) < 10**-places:
        return f"{x:.2g}"
    return f"{x:.{places}f}"


def cosine(x: Any) -> str:
    """Cosine similarity needs its digits after 0.99: six decimals."""
    return f"{x:.6f}" if is_number(x) and math.isfinite(x) else value(x)


def megabytes(size_bytes: Any) -> str:
    """Bytes as MB (10^6 bytes), two decimals."""
    return f"{size_bytes / MB:.2f}" if is_number(size_bytes) else value(size_bytes)


def size(size_bytes: Any) -> str:
    """Bytes spelled out and in MB: '11,689,512 B (11.69 MB)'."""
    if not is_number(size_bytes):
        return value(size_bytes)
    return f"{int(size_bytes):,} B ({megabytes(size_bytes)} MB)"


def percent(fraction: Any) -> str:
    """A relative change as a signed percentage: 0.123 → '+12.3%'."""
    return f"{fraction * 100:+.1f}%" if is_number(fraction) and math.isfinite(fraction) else value(fraction)


def verdict(passed: Any) -> str:
    if passed is None:
        return DASH
    return "PASS" if passed else "FAIL"


def one_line(text: Any, limit: int = 160) -> str:
    """The first line of a message, cut to `limit` characters."""
    if text is None:
        return DASH
    lines = str(text).strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"

