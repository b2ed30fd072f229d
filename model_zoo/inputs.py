"""Seeded sample inputs, drawn from a spec or loaded from a `.npz` / `.pt` file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from model_zoo.errors import FileContentError, InputsFileError

DISTRIBUTIONS = ("normal", "uniform", "randint")


def make_input(
    shape: Sequence[int],
    dtype: str | torch.dtype = "float32",
    distribution: str = "normal",
    low: float | None = None,
    high: float | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """One tensor drawn from its own generator seeded with `seed`.

    normal: standard normal; uniform: [low, high), default [0, 1);
    randint: integers in [low, high), low defaults to 0 and high is required.
    """
    return _draw(shape, dtype, distribution, low, high, torch.Generator().manual_seed(seed))


def make_inputs(specs: Sequence[Mapping[str, Any]], *, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Several tensors drawn in order from one generator seeded with `seed`.

    Each spec holds make_input's keyword arguments except `seed`, e.g.
    `{"shape": [1, 16], "dtype": "int64", "distribution": "randint", "high": 100}`.
    """
    generator = torch.Generator().manual_seed(seed)
    return tuple(
        _draw(
            spec["shape"],
            spec.get("dtype", "float32"),
            spec.get("distribution", "normal"),
            spec.get("low"),
            spec.get("high"),
            generator,
        )
        for spec in specs
    )


def load_inputs(path: str | Path) -> tuple[torch.Tensor, ...]:
    """Positional inputs stored in a file, in stored order.

    `.npz`: every array in stored order (`np.savez(path, *inputs)`, or keywords in call
    order; np.savez stores keyword arrays before positional ones).
    `.pt`/`.pth`: a tensor, a list/tuple of tensors or a dict of them (torch.save; loaded
    with weights_only=True, so no code runs).
    """
    path = Path(path)
    if not path.is_file():
        raise InputsFileError(path)
    if path.suffix == ".npz":
        return _load_npz(path)
    if path.suffix in (".pt", ".pth"):
        return _load_pt(path)
    raise FileContentError(f"unsupported inputs file {path}: expected a .npz or .pt file")


def _draw(shape, dtype, distribution, low, high, generator) -> torch.Tensor:
    dtype = _dtype(dtype)
    shape = tuple(int(d) for d in shape)
    if distribution == "randint":
        if high is None:
            raise ValueError("distribution 'randint' needs `high` (exclusive upper bound)")
        low = 0 if low is None else low
        return torch.randint(int(low), int(high), shape, generator=generator, dtype=dtype)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; expected one of {DISTRIBUTIONS}")
    if not dtype.is_floating_point:
        raise ValueError(f"distribution {distribution!r} needs a floating dtype, got {dtype}")
    if distribution == "normal":
        if low is not None or high is not None:
            raise ValueError("`low`/`high` apply to 'uniform' and 'randint', not 'normal'")
        return torch.randn(shape, generator=generator, dtype=dtype)
    low = 0.0 if low is None else low
    high = 1.0 if high is None else high
    return torch.empty(shape, dtype=dtype).uniform_(low, high, generator=generator)


def _dtype(dtype: str | torch.dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    resolved = getattr(torch, str(dtype), None)
    if not isinstance(resolved, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use a torch dtype name such as 'float32'")
    return resolved


def _load_npz(path: Path) -> tuple[torch.Tensor, ...]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            tensors = tuple(torch.from_numpy(arrays[name].copy()) for name in arrays.files)
    except (OSError, ValueError) as error:
        raise FileContentError(f"cannot read inputs file {path}: {error}") from error
    if not tensors:
        raise FileContentError(f"inputs file {path} holds no arrays")
    return tensors


def _load_pt(path: Path) -> tuple[torch.Tensor, ...]:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises several unrelated types
        raise FileContentError(f"cannot read inputs file {path}: {error}") from error
    if isinstance(loaded, torch.Tensor):
        return (loaded,)
    values = tuple(loaded.values()) if isinstance(loaded, Mapping) else loaded
    if (
        not isinstance(values, (list, tuple))
        or not values
        or not all(isinstance(v, torch.Tensor) for v in values)
    ):
        raise FileContentError(
            f"inputs file {path} must hold a tensor, or a non-empty list, tuple or dict of "
            f"tensors; found {type(loaded).__name__}"
        )
    return tuple(values)
