"""The lowering registry: one decorated function per ATen op (overload or packet).

A lowering receives a LoweringContext and the node's arguments, in the order of
the op's ATen schema, with every FX node replaced by the TensorFlow value already
emitted for it. It returns the TensorFlow value (or a tuple for multi-output ops).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable

import torch

from edgebatch._convert.ir import nodes
from edgebatch._convert.ir.op_registry import OpRegistry

_LOWERINGS: OpRegistry[Callable] = OpRegistry("lowerings")


def lower(*ops) -> Callable[[Callable], Callable]:
    """Register the decorated function as the lowering of each op in `ops`."""

    def register(fn: Callable) -> Callable:
        for op in ops:
            _LOWERINGS.add(op, fn)
        return fn

    return register


def lookup(target) -> Callable | None:
    """The lowering of a call target (see OpRegistry.lookup for the fallbacks)."""
    return _LOWERINGS.lookup(target)


def op_name(target) -> str:
    """`aten.add.Tensor`-style name of an FX call target, for messages and culprits."""
    if isinstance(target, torch._ops.OpOverload):
        return f"{target.namespace}.{target._schema.name.split('::')[-1]}.{target._overloadname}"
    return getattr(target, "__name__", str(target))


@dataclass
class LoweringContext:
    """What a lowering may know about the node it lowers, fed from FX metadata."""

    node: torch.fx.Node

    @property
    def val(self):
        """The node's FakeTensor (or tuple of them) from torch.export."""
        return nodes.val(self.node)

    def out_val(self, index: int | None = None):
        val = self.val
        return val[index] if index is not None else val

    def out_shape(self, index: int | None = None) -> list:
        """Output dims: Python ints where static, torch.SymInt where symbolic."""
        return list(self.out_val(index).shape)

    def out_dtype(self, index: int | None = None) -> torch.dtype:
        return self.out_val(index).dtype

    def arg_val(self, position: int):
        """FakeTensor of the node's positional argument `position` (if it is a node)."""
        return nodes.val(self.node.args[position])

    @property
    def used_outputs(self) -> set[int]:
        """Indices of a multi-output node's results that something reads."""
        used = set()
        for user in self.node.users:
            if user.target is operator.getitem:
                used.add(user.args[1])
        return used
