"""FX node helpers: what a node holds (its `meta["val"]`), and making new nodes like it.

Sizes in a shape are Python ints where static and `torch.SymInt`s where symbolic.
"""

from __future__ import annotations

import copy
import operator
from typing import Any

import torch
from torch._guards import detect_fake_mode

from edgebatch._convert.ir import recurrent_shapes

aten = torch.ops.aten

# ops that only reinterpret a tensor's shape
VIEWS = (aten.view.default, aten._unsafe_view.default, aten.reshape.default)


# --- reading ------------------------------------------------------------------------------

def val(node) -> Any:
    """A node's FakeTensor (or tuple of them, or SymInt) from torch.export; a non-node as is."""
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else node


def is_tensor_node(node) -> bool:
    return isinstance(node, torch.fx.Node) and isinstance(node.meta.get("val"), torch.Tensor)


def is_tuple_node(node: torch.fx.Node) -> bool:
    return isinstance(val(node), (tuple, list))


def shape(node) -> list:
    return list(val(node).shape)


def rank(node) -> int:
    """The number of dims of a tensor node."""
    return val(node).dim()


def out_ranks(node: torch.fx.Node) -> list[int | None]:
    """Per output: its number of dims (None for a non-tensor output)."""
    v = val(node)
    if isinstance(v, torch.Tensor):
        return [v.dim()]
    if isinstance(v, (tuple, list)):
        return [x.dim() if isinstance(x, torch.Tensor) else None for x in v]
    return []


def is_static(sizes) -> bool:
    return all(isinstance(s, int) for s in sizes)


def same_sizes(a, b) -> bool:
    """Equal sizes; symbolic ones (also held by an FX node) compare by their expression."""

    def size(s):
        s = val(s)
        return s if isinstance(s, int) else str(s)

    return len(a) == len(b) and all(size(x) == size(y) for x, y in zip(a, b))


def norm_dim(dim: int, ndim: int) -> int:
    """A dim index counted from the front (torch allows negative ones)."""
    return dim + ndim if dim < 0 else dim


def arg(node: torch.fx.Node, index: int, name: str, default=None):
    """An argument given by position or by keyword."""
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def tensor_inputs(node: torch.fx.Node) -> list[torch.fx.Node]:
    """Tensor-valued input nodes, in argument order (with repeats)."""
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs),
                          lambda n: found.append(n) if is_tensor_node(n) else None)
    return found


# --- building -----------------------------------------------------------------------------

# computed for the node they sit on; a node made from another one gets its own
_VALUE_META = ("val", "tensor_meta", "example_value", "unbacked_bindings")


def copy_meta(source: torch.fx.Node, drop: tuple[str, ...] = ()) -> dict:
    """`source`'s metadata for a node that replaces it: stack trace, module stack and the
    like stay (errors and the accuracy tools point at the user's line through them)."""
    return {k: copy.copy(v) for k, v in source.meta.items()
            if k not in _VALUE_META and k not in drop}


def graph_fake_mode(graph: torch.fx.Graph):
    """The FakeTensorMode the graph's values were made in (a new one if there is none)."""
    vals = [n.meta.get("val") for n in graph.nodes if n.op == "placeholder"]
    return detect_fake_mode(vals) or torch._subclasses.FakeTensorMode()


def fake_value(fake_mode, target, args, kwargs=None):
    """What `target` gives on its input nodes' meta["val"] (a FakeTensor or a tuple of them)."""
    a, k = torch.fx.node.map_arg((args, kwargs or {}), lambda n: n.meta["val"])
    if target is operator.getitem:
        return a[0][a[1]]
    if target is aten.view.default:  # physical tensors may be non-contiguous in torch's eyes
        target = aten.reshape.default
    if target in recurrent_shapes.SHAPE_KERNELS:
        return recurrent_shapes.recurrent_fake_value(fake_mode, target, a, k)
    with fake_mode, torch.no_grad():
        return target(*a, **k)


def force_name(graph: torch.fx.Graph, node: torch.fx.Node, name: str) -> None:
    """Give `node` exactly `name` (FX would suffix a name it has seen, like `input`)."""
    if node.name != name:
        graph._graph_namespace._used_names.add(name)
        graph._graph_namespace._rename_object(node, name)
        node.name = name


__all__ = [
    "VIEWS", "arg", "copy_meta", "fake_value", "force_name", "graph_fake_mode", "is_static",
    "is_tensor_node", "is_tuple_node", "norm_dim", "out_ranks", "rank", "same_sizes", "shape",
    "tensor_inputs", "val",
]
