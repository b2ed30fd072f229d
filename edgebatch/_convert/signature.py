"""Signatures: which module, which sample inputs, and the TFLite names of inputs/outputs.

Inputs are named `args_0..` over the flattened positional leaves, then the
flattened kwarg paths (`mask`, `cache_0`, ...). Outputs are `output_0..`, or the
flattened keys when the module returns a dict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils import _pytree as pytree

DEFAULT_SIGNATURE_NAME = "serving_default"


@dataclass
class Signature:
    name: str
    module: torch.nn.Module
    sample_args: tuple
    sample_kwargs: dict = field(default_factory=dict)
    dynamic_shapes: Any = None


def _key_str(key) -> str:
    for attr in ("key", "idx", "name"):
        if hasattr(key, attr):
            return str(getattr(key, attr))
    return str(key)


def _path_name(path) -> str:
    return "_".join(_key_str(k) for k in path)


def input_names_and_values(args: tuple, kwargs: dict | None) -> list[tuple[str, Any]]:
    """(name, leaf) for every tensor-like leaf of a call's args and kwargs."""
    named = []
    arg_leaves = [leaf for leaf in pytree.tree_leaves(tuple(args)) if _is_array(leaf)]
    named += [(f"args_{i}", leaf) for i, leaf in enumerate(arg_leaves)]
    for path, leaf in pytree.tree_flatten_with_path(dict(kwargs or {}))[0]:
        if _is_array(leaf):
            named.append((_path_name(path), leaf))
    return named


def output_names(program: torch.export.ExportedProgram) -> list[str]:
    """Names of the user outputs that are tensors or values (None outputs are dropped)."""
    out_spec = program.call_spec.out_spec
    structure = pytree.tree_unflatten(list(range(out_spec.num_leaves)), out_spec)
    if isinstance(structure, dict):
        return [_path_name(path) for path, _ in pytree.tree_flatten_with_path(structure)[0]]
    return [f"output_{i}" for i in range(out_spec.num_leaves)]


def _is_array(value) -> bool:
    return isinstance(value, torch.Tensor) or hasattr(value, "__array__")
