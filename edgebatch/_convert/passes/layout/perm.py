"""Permutation algebra for layouts.

A tensor's *layout* is a permutation `p` of its logical (torch) dims: the physical
tensor the TF graph holds is `logical.permute(p)`. Identity is torch's own layout;
`channels_last(4) == (0, 2, 3, 1)` is NHWC for an NCHW tensor.
"""

from __future__ import annotations

from typing import Sequence

Perm = tuple[int, ...]


def identity(rank: int) -> Perm:
    return tuple(range(rank))


def channels_last(rank: int) -> Perm:
    """(0, 2, ..., rank-1, 1): the channel dim moves last."""
    return (0, *range(2, rank), 1) if rank >= 3 else identity(rank)


def channels_first(rank: int) -> Perm:
    """The inverse of channels_last: a permute with it turns NHWC into NCHW."""
    return invert(channels_last(rank))


def is_identity(p: Sequence[int]) -> bool:
    return all(i == d for i, d in enumerate(p))


def invert(p: Sequence[int]) -> Perm:
    inv = [0] * len(p)
    for i, d in enumerate(p):
        inv[d] = i
    return tuple(inv)


def after_permute(dims: Sequence[int], p: Sequence[int]) -> Perm:
    """Layout of `permute(x, dims)` when x has layout p and no data moves.

    physical = x.permute(p) = out.permute(q) with out = x.permute(dims), so q = dims⁻¹ ∘ p.
    """
    inv = invert(dims)
    return tuple(inv[d] for d in p)


def before_permute(dims: Sequence[int], q: Sequence[int]) -> Perm:
    """The layout x needs so that `permute(x, dims)` has layout q without moving data."""
    return tuple(dims[d] for d in q)


def relative(p_from: Sequence[int], p_to: Sequence[int]) -> Perm:
    """The permute that turns a tensor held in layout p_from into layout p_to."""
    pos = {d: i for i, d in enumerate(p_from)}
    return tuple(pos[d] for d in p_to)


def is_one(size) -> bool:
    return isinstance(size, int) and size == 1


def memory_order(shape: Sequence, p: Sequence[int]) -> tuple[int, ...]:
    """The dims that are not 1, in physical order: two layouts with the same memory
    order hold the same bytes and convert into each other with a reshape."""
    return tuple(d for d in p if not is_one(shape[d]))


def same_memory(shape: Sequence, p1: Sequence[int], p2: Sequence[int]) -> bool:
    return memory_order(shape, p1) == memory_order(shape, p2)


def permute_list(values: Sequence, p: Sequence[int]) -> list:
    return [values[d] for d in p]


def drop_dims(p: Sequence[int], removed: Sequence[int]) -> Perm:
    """p without the `removed` logical dims, renumbered for the smaller rank."""
    removed = set(removed)
    kept = sorted(d for d in range(len(p)) if d not in removed)
    new = {d: i for i, d in enumerate(kept)}
    return tuple(new[d] for d in p if d not in removed)


def insert_dim(p: Sequence[int], dim: int, position: int) -> Perm:
    """p for a tensor with a new logical dim `dim`, held at physical `position`."""
    shifted = [d + 1 if d >= dim else d for d in p]
    return tuple(shifted[:position] + [dim] + shifted[position:])


def reduce_transpose(shape: Sequence, perm: Sequence[int]):
    """The smallest-rank transpose equal to `permute(x, perm)` for x of `shape`.

    Size-1 dims are dropped and dims that stay neighbours are merged. Returns
    (reduced_shape, reduced_perm), or None if a symbolic dim would have to merge.
    """
    keep = [d for d in range(len(shape)) if not is_one(shape[d])]
    order = [d for d in perm if not is_one(shape[d])]
    # runs of dims consecutive in the input that stay consecutive in the output
    runs: list[list[int]] = []
    for d in order:
        if runs and runs[-1][-1] + 1 == d and _next_kept(keep, runs[-1][-1]) == d:
            runs[-1].append(d)
        else:
            runs.append([d])
    by_start = sorted(runs, key=lambda r: r[0])
    sizes = []
    for run in by_start:
        size = 1
        for d in run:
            if not isinstance(shape[d], int) and len(run) > 1:
                return None
            size = size * shape[d] if isinstance(shape[d], int) else shape[d]
        sizes.append(size)
    index = {id(run): i for i, run in enumerate(by_start)}
    return sizes, tuple(index[id(run)] for run in runs)


def _next_kept(keep: list[int], d: int) -> int | None:
    i = keep.index(d)
    return keep[i + 1] if i + 1 < len(keep) else None
