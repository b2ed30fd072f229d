"""Compare two artifacts: bytes, size, metrics, recipe and tool versions."""

from __future__ import annotations

from typing import Any

from edgebatch.metrics import is_number
from edgebatch.registry.records import Artifact, MetricValue


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts and lists as {dotted.path: leaf}; list items are keyed by index."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def changed_paths(a: Any, b: Any) -> dict[str, dict[str, Any]]:
    """{dotted.path: {"a": ..., "b": ...}} for every leaf that differs (absent = None)."""
    flat_a, flat_b = flatten(a), flatten(b)
    return {
        path: {"a": flat_a.get(path), "b": flat_b.get(path)}
        for path in sorted(flat_a.keys() | flat_b.keys())
        if path not in flat_a or path not in flat_b or flat_a[path] != flat_b[path]
    }


def delta(a: MetricValue, b: MetricValue) -> dict[str, Any]:
    """{"a", "b", "delta": b - a, "relative": (b - a) / |a|}; None unless both are numbers."""
    out: dict[str, Any] = {"a": a, "b": b, "delta": None, "relative": None}
    if is_number(a) and is_number(b):
        out["delta"] = b - a
        out["relative"] = (b - a) / abs(a) if a else None
    return out


def diff_artifacts(a: Artifact, b: Artifact) -> dict[str, Any]:
    """What changed from `a` to `b`; metrics present on one side only have None on the other."""
    keys = list(a.metrics) + [key for key in b.metrics if key not in a.metrics]
    return {
        "a": a.ref,
        "b": b.ref,
        "same_bytes": a.sha256 == b.sha256,
        "size_bytes": delta(a.size_bytes, b.size_bytes),
        "metrics": {key: delta(a.metrics.get(key), b.metrics.get(key)) for key in keys},
        "recipe": changed_paths(a.recipe, b.recipe),
        "tool_versions": changed_paths(a.tool_versions, b.tool_versions),
    }
