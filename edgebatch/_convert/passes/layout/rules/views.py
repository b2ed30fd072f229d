"""permute, reshape/view and expand: they mostly move no data at all.

`permute(x, dims)` changes which logical dim is which; the physical tensor stays as
it is, only its layout changes (ConvNeXt's permute → LayerNorm → permute costs
nothing). A reshape stays a physical reshape whenever the dims it merges or splits
are neighbours, in order, in the physical layout (ViT's patch flatten, flatten of a
1×1 map). Flatten before a classifier folds the layout into the Linear's weight.
"""

from __future__ import annotations

import torch

from edgebatch._convert.ir.nodes import arg, rank, shape
from edgebatch._convert.passes.layout.perm import (
    after_permute, before_permute, identity, is_one, permute_list,
)
from edgebatch._convert.passes.layout.rules.elementwise import (
    broadcast_shape, needs_reshape, operand_perm,
)
from edgebatch._convert.passes.layout.rules.registry import Plan, PermRule, is_constant, register

aten = torch.ops.aten


# --- permute ----------------------------------------------------------------------------

def permute_dims(node) -> tuple[int, ...]:
    r = rank(node.args[0])
    if node.target.overloadpacket is aten.permute:
        return tuple(d + r if d < 0 else d for d in node.args[1])
    if node.target.overloadpacket is aten.t:
        return (1, 0) if r == 2 else identity(r)
    d0, d1 = (d + r if d < 0 else d for d in node.args[1:3])
    dims = list(range(r))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return tuple(dims)


@register(aten.permute, aten.transpose, aten.t)
class Permute(PermRule):
    def identity_frame(self, node):
        return identity(rank(node.args[0]))

    def plan(self, node, frame):
        if len(frame) != rank(node.args[0]):
            return None
        return Plan([(node.args[0], tuple(frame))], [after_permute(permute_dims(node), frame)])

    def frame_from_output(self, node, perm, index=0):
        return before_permute(permute_dims(node), perm)

    def rewrite(self, node, frame, plan, b):
        return b.input(node.args[0], tuple(frame))  # no data moves


# --- reshape ----------------------------------------------------------------------------

def _same_symbol(a, b) -> bool:
    if isinstance(a, int) or isinstance(b, int):
        return False
    return a.node.expr == b.node.expr


def _same_size(a, b) -> bool:
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    return _same_symbol(a, b)


def reshape_groups(in_shape, out_shape):
    """Pair up the non-1 dims of a reshape: each group of input dims becomes a group of
    output dims with the same number of elements. None if a symbolic dim is mixed in."""
    ins = [d for d, s in enumerate(in_shape) if not is_one(s)]
    outs = [d for d, s in enumerate(out_shape) if not is_one(s)]
    groups, i, j = [], 0, 0
    while i < len(ins) and j < len(outs):
        a, b = in_shape[ins[i]], out_shape[outs[j]]
        if not isinstance(a, int) or not isinstance(b, int):
            if not _same_symbol(a, b):
                return None
            groups.append(([ins[i]], [outs[j]]))
            i, j = i + 1, j + 1
            continue
        gi, gj, pa, pb = [ins[i]], [outs[j]], a, b
        i, j = i + 1, j + 1
        while pa != pb:
            if pa < pb:
                if i >= len(ins) or not isinstance(in_shape[ins[i]], int):
                    return None
                pa *= in_shape[ins[i]]
                gi.append(ins[i])
                i += 1
            else:
                if j >= len(outs) or not isinstance(out_shape[outs[j]], int):
                    return None
                pb *= out_shape[outs[j]]
                gj.append(outs[j])
                j += 1
        groups.append((gi, gj))
    if i != len(ins) or j != len(outs):
        return None
    return groups


def reshape_layout(in_shape, out_shape, in_perm):
    """The output layout of a reshape that keeps `in_perm`'s bytes where they are, or None."""
    groups = reshape_groups(in_shape, out_shape)
    if groups is None:
        return None
    by_first = {g[0][0]: g for g in groups}
    order = [d for d in in_perm if not is_one(in_shape[d])]
    seq, k = [], 0
    while k < len(order):
        group = by_first.get(order[k])
        if group is None or order[k:k + len(group[0])] != group[0]:
            return None
        seq += group[1]
        k += len(group[0])
    for e in (e for e, s in enumerate(out_shape) if is_one(s)):
        later = [i for i, d in enumerate(seq) if d > e]
        seq.insert(later[0] if later else len(seq), e)
    return tuple(seq)


@register(aten.view, aten._unsafe_view, aten.reshape)
class Reshape(PermRule):
    def identity_frame(self, node):
        return identity(rank(node.args[0]))

    def plan(self, node, frame):
        if len(frame) != rank(node.args[0]):
            return None
        out = reshape_layout(shape(node.args[0]), shape(node), frame)
        if out is None:
            if not self.folds_into_linear(node, frame):
                return None
            out = identity(rank(node))
        return Plan([(node.args[0], tuple(frame))], [out])

    def frame_from_output(self, node, perm, index=0):
        return reshape_layout(shape(node), shape(node.args[0]), perm)

    def folds_into_linear(self, node, frame) -> bool:
        """flatten(x, 1) → Linear with a constant weight: the Linear's weight columns are
        reordered instead (see `linear_weight_order`)."""
        in_shape, out_shape = shape(node.args[0]), shape(node)
        if len(out_shape) != 2 or frame[0] != 0 or not node.users:
            return False
        if not _same_size(in_shape[0], out_shape[0]):
            return False
        if any(not isinstance(s, int) for s in in_shape[1:]):
            return False
        for user in node.users:
            if user.target is not aten.linear.default or user.args[0] is not node:
                return False
            if user.args.count(node) != 1 or not is_constant(user.args[1]):
                return False
        return True

    def rewrite(self, node, frame, plan, b):
        x = b.input(node.args[0], tuple(frame))
        out = plan.outs[0]
        if reshape_layout(shape(node.args[0]), shape(node), frame) is None:
            b.flatten_order[node] = (tuple(frame[1:]), shape(node.args[0])[1:])
            size = [b.value(s) for s in arg(node, 1, "size")]  # same rows, columns reordered
            return b.call(aten.view.default, (x, size))
        size = list(arg(node, 1, "size"))
        if len(size) != rank(node):
            size = list(shape(node))
        phys = [b.value(s) for s in permute_list(size, out)]
        return b.call(aten.view.default, (x, phys))


def linear_weight_order(b, flatten_node, weight_node):
    """The Linear weight with its columns in the physical flatten order."""
    order, dims = b.flatten_order[flatten_node]
    w = b.value(weight_node)
    out_features = shape(weight_node)[0]
    w = b.call(aten.view.default, (w, [out_features, *dims]))
    w = b.call(aten.permute.default, (w, [0, *order]))
    return b.call(aten.view.default, (w, [out_features, -1]))


# --- expand -----------------------------------------------------------------------------

@register(aten.expand)
class Expand(PermRule):
    def identity_frame(self, node):
        return identity(rank(node))

    def frame_from_input(self, node, producer, perm):
        return perm if len(perm) == rank(node) else None

    def plan(self, node, frame):
        if len(frame) != rank(node):
            return None
        x = node.args[0]
        if rank(x) < len(frame) and needs_reshape(frame, shape(x)):
            if any(not isinstance(s, int) for s in shape(x)):
                return None
        if any(not isinstance(s, int) for s in shape(node)) and not _identity(frame):
            return None
        return Plan([(x, operand_perm(frame, rank(x)))], [tuple(frame)])

    def rewrite(self, node, frame, plan, b):
        x = node.args[0]
        phys = b.input(x, plan.needs[0][1])
        if rank(x) < len(frame) and needs_reshape(frame, shape(x)):
            phys = b.call(aten.view.default, (phys, broadcast_shape(frame, shape(x))))
        if _identity(frame):
            size = [b.value(s) for s in node.args[1]]
        else:
            size = permute_list(shape(node), frame)
        return b.call(aten.expand.default, (phys, size))


def _identity(frame) -> bool:
    return tuple(frame) == identity(len(frame))
