"""Which configurations of a sweep are worth keeping: the Pareto front of cost vs error."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Point:
    label: str
    cost: float   # size in MB or latency in ms: lower is better
    error: float  # validation error: lower is better
    passed: bool = True  # validation verdict; failing points are drawn apart


def front(points: list[Point]) -> list[Point]:
    """Points no other point beats on both cost and error, by increasing cost."""
    kept: list[Point] = []
    for point in sorted(points, key=lambda p: (p.cost, p.error)):
        if not kept or point.error < kept[-1].error:
            kept.append(point)
    return kept


def placeable(*values: Any) -> bool:
    """True when every value is a real, finite number, i.e. something a plot can place."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
               for v in values)
