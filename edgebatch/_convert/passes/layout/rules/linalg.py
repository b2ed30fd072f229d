"""Linear and matrix products.

Linear contracts the last dim only, so it runs in any layout that keeps that dim last.
A matmul operand whose last two dims arrive swapped is fed through an explicit swap
that TF's converter folds into BATCH_MATMUL's adj_x/adj_y, so it costs nothing.
"""

from __future__ import annotations

import torch

from edgebatch._convert.ir.nodes import rank, val
from edgebatch._convert.passes.layout.perm import identity
from edgebatch._convert.passes.layout.rules.registry import Plan, PermRule, Rule, register
from edgebatch._convert.passes.layout.rules.views import linear_weight_order

aten = torch.ops.aten


@register(aten.linear)
class Linear(PermRule):
    def identity_frame(self, node):
        return identity(rank(node.args[0]))

    def frame_from_input(self, node, producer, perm):
        if producer is node.args[0] and perm[-1] == len(perm) - 1:
            return perm
        return None

    def frame_from_output(self, node, perm, index=0):
        return perm if perm[-1] == len(perm) - 1 else None

    def plan(self, node, frame):
        x = node.args[0]
        if len(frame) != rank(x) or frame[-1] != len(frame) - 1:
            return None
        needs = [(x, tuple(frame))]
        needs += [(n, identity(rank(n))) for n in node.args[1:] if isinstance(n, torch.fx.Node)]
        return Plan(needs, [tuple(frame)])

    def rewrite(self, node, frame, plan, b):
        x, weight = node.args[0], node.args[1]
        bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        if x in b.flatten_order:
            w = linear_weight_order(b, x, weight)
        else:
            w = b.value(weight)
        args = [b.input(x, tuple(frame)), w]
        if bias is not None:
            args.append(b.value(bias))
        return b.call(aten.linear.default, tuple(args))


def _swap_last(r: int) -> tuple[int, ...]:
    return (*range(r - 2), r - 1, r - 2)


@register(aten.matmul, aten.bmm, aten.mm)
class Matmul(Rule):
    """Frame (ta, tb): operand a (b) arrives with its last two dims swapped."""

    def fixed_frames(self, node):
        a, b = node.args[0], node.args[1]
        if not isinstance(val(node), torch.Tensor) or rank(a) < 2 or rank(b) < 2:
            return [None]
        return [(False, False), (False, True), (True, False), (True, True)]

    def plan(self, node, frame):
        if frame is None:
            return super().plan(node, frame)
        a, b = node.args[0], node.args[1]
        ta, tb = frame
        need_a = _swap_last(rank(a)) if ta else identity(rank(a))
        need_b = _swap_last(rank(b)) if tb else identity(rank(b))
        return Plan([(a, need_a), (b, need_b)], [identity(rank(node))])

    def rewrite(self, node, frame, plan, b):
        if frame is None:
            return b.copy_with_inputs(node, plan)
        operands = []
        for (n, need), swapped in zip(plan.needs, frame):
            x = b.input(n, need)
            if swapped:
                x = b.call(aten.permute.default, (x, list(_swap_last(rank(n)))), adjoint=True)
            operands.append(x)
        return b.call(node.target, tuple(operands))
