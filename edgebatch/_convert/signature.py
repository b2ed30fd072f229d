"""Signatures: which module, which sample inputs, and the TFLite names of inputs/outputs.

Inputs are named `args_0..` over the flattened positional leaves, then the
flattened kwarg paths (`mask`, `cache_0`, ...). Outputs are `output_0..`, or the
flattened keys when the module returns a dict. None outputs are left out of the model;
the others keep the names of their positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch.export.graph_signature import OutputKind
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
    """Names of the user outputs that are not None (TFLite has no None output)."""
    return [name for name, value in _named_outputs(program) if value is not None]


def none_outputs(program: torch.export.ExportedProgram) -> list[str]:
    """Names of the user outputs that are None, which the converted model leaves out."""
    return [name for name, value in _named_outputs(program) if value is None]


def _named_outputs(program: torch.export.ExportedProgram) -> list[tuple[str, Any]]:
    """(name, graph value) of every user output leaf, None ones included."""
    out_spec = program.call_spec.out_spec
    structure = pytree.tree_unflatten(list(range(out_spec.num_leaves)), out_spec)
    if isinstance(structure, dict):
        names = [_path_name(path) for path, _ in pytree.tree_flatten_with_path(structure)[0]]
    else:
        names = [f"output_{i}" for i in range(out_spec.num_leaves)]
    output_node = next(n for n in reversed(program.graph.nodes) if n.op == "output")
    values = [value for value, spec in zip(output_node.args[0],
                                           program.graph_signature.output_specs)
              if spec.kind == OutputKind.USER_OUTPUT]
    return list(zip(names, values, strict=True))


def _is_array(value) -> bool:
    return isinstance(value, torch.Tensor) or hasattr(value, "__array__")
