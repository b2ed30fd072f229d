"""Delta debugging (Zeller's ddmin): shrink a failing list to a 1-minimal failing part.

1-minimal: removing any single item makes the failure go away. Items keep their order,
so chunks are runs of neighbouring items (nodes of a graph that work together).
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


def minimize(items: Sequence[T], fails: Callable[[list[T]], bool], *,
             max_chunk: int | None = None) -> list[T]:
    """A 1-minimal sub-list of `items` (which must fail) for which `fails` holds.

    `max_chunk` caps the size of the first chunks tried; by default the list is halved.
    """
    items = list(items)
    chunks = 2 if max_chunk is None else max(2, -(-len(items) // max_chunk))
    while len(items) > 1:
        chunks = min(chunks, len(items))
        bounds = _bounds(len(items), chunks)
        failing = next((items[a:b] for a, b in bounds if fails(items[a:b])), None)
        if failing is not None:
            items, chunks = failing, 2
            continue
        if chunks > 2:  # with two chunks, each one's complement is the other
            rest = next((r for r in (items[:a] + items[b:] for a, b in bounds) if fails(r)),
                        None)
            if rest is not None:
                items, chunks = rest, chunks - 1
                continue
        if chunks == len(items):
            break
        chunks = min(2 * chunks, len(items))
    return items


def _bounds(length: int, count: int) -> list[tuple[int, int]]:
    """[start, stop) of `count` neighbouring chunks of nearly equal size."""
    size, extra = divmod(length, count)
    bounds, start = [], 0
    for i in range(count):
        stop = start + size + (i < extra)
        bounds.append((start, stop))
        start = stop
    return bounds
