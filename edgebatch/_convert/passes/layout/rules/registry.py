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
from typing import Callable, Hashable

import torch

from edgebatch._convert.ir.nodes import out_ranks, rank, tensor_inputs
from edgebatch._convert.ir.op_registry import OpRegistry
from edgebatch._convert.passes.layout.perm import Perm, identity

Frame = Hashable
CONSTANT_KEY = "_layout_constant"  # node.meta flag set by the analysis while the pass runs
_RULES: OpRegistry["Rule"] = OpRegistry("layout rules")


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
            _RULES.add(target, instance)
        return cls

    return wrap


def rule_for(node: torch.fx.Node) -> "Rule":
    """The node's rule (see OpRegistry.lookup for the fallbacks); FIXED for unknown ops."""
    return _RULES.lookup(node.target) or FIXED


def is_constant(node) -> bool:
    """A constant (weights and what is computed from them alone), as the analysis marked it."""
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
    "CONSTANT_KEY", "FIXED", "Frame", "PermRule", "Plan", "Rule", "is_constant", "register",
    "rule_for",
]
