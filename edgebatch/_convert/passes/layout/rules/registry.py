"""Per-op layout rules: in which layouts an op can run, and how to rewrite it there.

A rule sees one FX node. Its *frame* is the layout it runs in (for most ops a
permutation; an op may use any hashable). For a frame the rule's `plan` says which
layout each tensor input must arrive in and which layout each output leaves in, or
None if the op cannot run in that frame; `rewrite` emits the node(s) that compute the
op on physical tensors. The partitioner picks one frame per node; the builder inserts
a transpose wherever a producer's layout differs from what a consumer needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import torch

from edgebatch._convert.passes.layout.perm import Perm, identity

Frame = Hashable
CONSTANT_KEY = "_layout_constant"  # node.meta flag set by the analysis while the pass runs
_RULES: dict[Any, "Rule"] = {}


@dataclass
class Plan:
    """What a node needs from its inputs and gives to its users in one frame."""

    needs: list[tuple[torch.fx.Node, Perm]] = field(default_factory=list)
    outs: list[Perm | None] = field(default_factory=list)  # per output; one entry if not a tuple


def register(*targets) -> Callable:
    """Class decorator: an instance of the class is the rule for each target."""

    def wrap(cls):
        instance = cls()
        for target in targets:
            if target in _RULES:
                raise RuntimeError(f"two layout rules registered for {target}")
            _RULES[target] = instance
        return cls

    return wrap


def rule_for(node: torch.fx.Node) -> "Rule":
    target = node.target
    if target in _RULES:
        return _RULES[target]
    if isinstance(target, torch._ops.OpOverload) and target.overloadpacket in _RULES:
        return _RULES[target.overloadpacket]
    return FIXED


# --- node helpers ------------------------------------------------------------------------

def val(node) -> Any:
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else node


def is_tensor_node(node) -> bool:
    return isinstance(node, torch.fx.Node) and isinstance(node.meta.get("val"), torch.Tensor)


def shape(node) -> list:
    return list(val(node).shape)


def rank(node) -> int:
    return val(node).dim()


def arg(node: torch.fx.Node, index: int, name: str, default=None):
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def tensor_inputs(node: torch.fx.Node) -> list[torch.fx.Node]:
    """Tensor-valued input nodes, in argument order (with repeats)."""
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs),
                          lambda n: found.append(n) if is_tensor_node(n) else None)
    return found


def out_ranks(node: torch.fx.Node) -> list[int | None]:
    v = val(node)
    if isinstance(v, torch.Tensor):
        return [v.dim()]
    if isinstance(v, (tuple, list)):
        return [x.dim() if isinstance(x, torch.Tensor) else None for x in v]
    return []


def norm_dim(dim: int, ndim: int) -> int:
    return dim + ndim if dim < 0 else dim


def is_tuple_node(node: torch.fx.Node) -> bool:
    return isinstance(val(node), (tuple, list))


def is_constant(node) -> bool:
    return isinstance(node, torch.fx.Node) and node.meta.get(CONSTANT_KEY, False)


# --- rules ------------------------------------------------------------------------------

class Rule:
    """Base: an op that runs in torch's layout only (frame = identity)."""

    def identity_frame(self, node) -> Frame:
        return None

    def fixed_frames(self, node) -> list[Frame] | None:
        """The only frames this node may take, or None if candidates come from neighbours."""
        return [None]

    def frame_from_input(self, node, producer, perm: Perm) -> Frame | None:
        """The frame in which `producer` (arriving in `perm`) needs no conversion."""
        return None

    def frame_from_output(self, node, perm: Perm, index: int = 0) -> Frame | None:
        """The frame in which the (first) output leaves in `perm`."""
        return None

    def plan(self, node, frame: Frame) -> Plan | None:
        needs = [(n, identity(rank(n))) for n in tensor_inputs(node)]
        outs = [identity(r) if r is not None else None for r in out_ranks(node)]
        return Plan(needs, outs)

    def rewrite(self, node, frame: Frame, plan: Plan, b):
        """Emit the op on physical tensors; return the new node (or a list per output)."""
        return b.copy_with_inputs(node, plan)


FIXED = Rule()


class PermRule(Rule):
    """An op whose frame is a permutation; subclasses say how it maps to inputs/outputs."""

    def fixed_frames(self, node):
        return None

    def frame_from_input(self, node, producer, perm):
        return perm if producer is self.primary(node) else None

    def frame_from_output(self, node, perm, index=0):
        return perm

    def primary(self, node) -> torch.fx.Node:
        return node.args[0]


__all__ = [
    "CONSTANT_KEY", "FIXED", "Frame", "PermRule", "Plan", "Rule", "arg", "is_constant",
    "is_tensor_node", "is_tuple_node", "norm_dim", "out_ranks", "rank", "register", "rule_for",
    "shape", "tensor_inputs", "val",
]
