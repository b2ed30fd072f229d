"""The one size unit every command line and report shows: MB = 10^6 bytes."""

from __future__ import annotations

MB = 10**6


def megabytes(size_bytes: int | float) -> str:
    """'46.75 MB' (two decimals; a size below 0.01 MB in B)."""
    if abs(size_bytes) < MB // 100:
        return f"{int(size_bytes)} B"
    return f"{size_bytes / MB:.2f} MB"
