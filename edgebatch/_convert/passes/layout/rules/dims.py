"""Ops with dim arguments: they follow the input's layout and remap their dims.

Frame = the layout of the (first) input. softmax over the channel dim of an NCHW
tensor held as NHWC becomes softmax over the last axis; mean over H, W becomes a
reduction over physical dims 1, 2; cat over channels concatenates physical dim 3.
"""

from __future__ import annotations

import torch

from edgebatch._convert.ir.nodes import (
    arg, is_tensor_node, is_tuple_node, norm_dim, out_ranks, rank, val,
)
from edgebatch._convert.passes.layout.perm import drop_dims, identity, insert_dim
from edgebatch._convert.passes.layout.rules.registry import Plan, PermRule, register

aten = torch.ops.aten


class FollowInput(PermRule):
    """Frame = layout of args[0]; all outputs keep it (dims remapped by `remap_args`)."""

    def identity_frame(self, node):
        return identity(rank(node.args[0]))

    def valid(self, node, frame) -> bool:
        return True

    def plan(self, node, frame):
        if len(frame) != rank(node.args[0]) or not self.valid(node, frame):
            return None
        needs = [(node.args[0], tuple(frame))]
        needs += [(n, identity(rank(n))) for n in self.other_tensors(node)]
        return Plan(needs, [tuple(frame) if r is not None else None for r in out_ranks(node)])

    def other_tensors(self, node):
        found = []
        torch.fx.node.map_arg((node.args[1:], node.kwargs),
                              lambda n: found.append(n) if is_tensor_node(n) else None)
        return found

    def remap_args(self, node, frame) -> tuple[tuple, dict]:
        raise NotImplementedError

    def rewrite(self, node, frame, plan, b):
        args, kwargs = self.remap_args(node, frame)
        x = b.input(node.args[0], tuple(frame))
        rest = torch.fx.node.map_arg(
            (args[1:], kwargs),
            lambda n: b.input(n, identity(rank(n))) if is_tensor_node(n) else b.value(n))
        outputs = len(val(node)) if is_tuple_node(node) else 0
        return b.call(node.target, (x, *rest[0]), rest[1], tuple_outputs=outputs)


def _phys(frame, dim, ndim):
    return frame.index(norm_dim(dim, ndim))


# --- one dim argument at position 1 -----------------------------------------------------

@register(aten._softmax, aten._safe_softmax, aten.softmax, aten._log_softmax, aten.log_softmax,
          aten.cumsum, aten.cumprod, aten.logcumsumexp, aten.cummax, aten.cummin, aten.glu,
          aten.slice, aten.index_select, aten.sym_size)
class DimAt1(FollowInput):
    dim_index = 1

    def dim_default(self, node):
        return -1 if node.target.overloadpacket is aten.glu else 0

    def remap_args(self, node, frame):
        args = list(node.args)
        kwargs = dict(node.kwargs)
        ndim = rank(node.args[0])
        dim = arg(node, self.dim_index, "dim", self.dim_default(node))
        new = _phys(frame, dim, ndim)
        if len(args) > self.dim_index:
            args[self.dim_index] = new
        else:
            kwargs["dim"] = new
        return tuple(args), kwargs


@register(aten.split_with_sizes, aten.split)
class SplitRule(DimAt1):
    dim_index = 2


@register(aten.gather)
class Gather(DimAt1):
    """gather(self, dim, index): the index tensor has self's rank and shares its layout."""

    def plan(self, node, frame):
        p = super().plan(node, frame)
        if p is not None:
            index = node.args[2]
            p.needs = [(node.args[0], tuple(frame)), (index, tuple(frame))]
        return p

    def rewrite(self, node, frame, plan, b):
        args, _ = self.remap_args(node, frame)
        x = b.input(node.args[0], tuple(frame))
        index = b.input(node.args[2], tuple(frame))
        return b.call(node.target, (x, args[1], index, *args[3:]), dict(node.kwargs))


@register(aten.sort, aten.topk)
class SortLike(DimAt1):
    """sort(self, dim=-1, ...), sort.stable(self, *, stable, dim=-1, ...), topk(self, k, dim=-1, ...)"""

    def remap_args(self, node, frame):
        index = 1 if node.target.overloadpacket is aten.sort else 2
        args, kwargs = list(node.args), dict(node.kwargs)
        ndim = rank(node.args[0])
        if node.target is aten.sort.stable:
            dim = kwargs.get("dim", -1)
            kwargs["dim"] = _phys(frame, dim, ndim)
            return tuple(args), kwargs
        dim = arg(node, index, "dim", -1)
        if len(args) > index:
            args[index] = _phys(frame, dim, ndim)
        else:
            kwargs["dim"] = _phys(frame, dim, ndim)
        return tuple(args), kwargs


@register(aten.flip)
class Flip(FollowInput):
    def remap_args(self, node, frame):
        ndim = rank(node.args[0])
        return (node.args[0], [_phys(frame, d, ndim) for d in node.args[1]]), dict(node.kwargs)


@register(aten.roll)
class Roll(FollowInput):
    def valid(self, node, frame):
        return bool(arg(node, 2, "dims", []))

    def remap_args(self, node, frame):
        ndim = rank(node.args[0])
        shifts = arg(node, 1, "shifts")
        dims = [_phys(frame, d, ndim) for d in arg(node, 2, "dims", [])]
        return (node.args[0], shifts, dims), {}


@register(aten.repeat)
class Repeat(FollowInput):
    def valid(self, node, frame):
        return len(node.args[1]) == len(frame)

    def remap_args(self, node, frame):
        return (node.args[0], [node.args[1][d] for d in frame]), {}


@register(aten.constant_pad_nd, aten.pad)
class Pad(FollowInput):
    """The pad list runs from the last dim backwards; it is rebuilt for physical dims."""

    def remap_args(self, node, frame):
        ndim = rank(node.args[0])
        args = list(node.args)
        args[1] = remap_pad(list(node.args[1]), frame, ndim)
        return tuple(args), dict(node.kwargs)


def remap_pad(pad: list, frame, ndim: int) -> list:
    per_dim = {}
    for i in range(len(pad) // 2):
        per_dim[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    phys = {frame.index(d): p for d, p in per_dim.items()}
    if not phys:
        return []
    deepest = min(phys)
    out = []
    for j in range(ndim - 1, deepest - 1, -1):
        out += list(phys.get(j, (0, 0)))
    return out


# --- reductions ---------------------------------------------------------------------------

@register(aten.sum, aten.mean, aten.amax, aten.amin, aten.prod, aten.any, aten.all,
          aten.var, aten.std, aten.var_mean, aten.std_mean, aten.argmax, aten.argmin,
          aten.max, aten.min, aten.logsumexp, aten.norm, aten.linalg_vector_norm,
          aten.count_nonzero)
class Reduction(FollowInput):
    """dims → physical dims; without keepdim the output loses them (the layout too)."""

    def spec(self, node):
        """(dim position, keepdim position, dims) with dims None for 'all dims'."""
        op = node.target
        packet = op.overloadpacket
        name = op._overloadname
        if packet in (aten.norm,):
            return 2, 3
        if packet is aten.linalg_vector_norm:
            return 2, 3
        if name in ("default",) and packet in (aten.sum, aten.mean, aten.prod, aten.any, aten.all,
                                               aten.max, aten.min, aten.count_nonzero):
            return None, None
        return 1, 2

    def dims(self, node):
        dpos, _ = self.spec(node)
        ndim = rank(node.args[0])
        if dpos is None:
            return list(range(ndim))
        dims = arg(node, dpos, "dim", None)
        if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
            if node.target.overloadpacket in (aten.argmax, aten.argmin):
                return None  # flattened index: only torch's layout gives the same numbers
            return list(range(ndim))
        if isinstance(dims, int):
            dims = [dims]
        return sorted(norm_dim(d, ndim) for d in dims)

    def keepdim(self, node):
        _, kpos = self.spec(node)
        if kpos is None:
            return False
        return bool(arg(node, kpos, "keepdim", False))

    def valid(self, node, frame):
        return self.dims(node) is not None

    def plan(self, node, frame):
        p = super().plan(node, frame)
        if p is None or self.keepdim(node):
            return p
        reduced = drop_dims(frame, self.dims(node))
        p.outs = [reduced if r is not None else None for r in out_ranks(node)]
        return p

    def frame_from_output(self, node, perm, index=0):
        if self.keepdim(node):
            return perm
        dims = self.dims(node)
        if dims is None:
            return None
        frame = list(perm)
        for d in dims:  # reduced dims sit at the end: the kept ones keep `perm`'s order
            frame = [x + 1 if x >= d else x for x in frame]
        return tuple(frame + dims) if len(frame) + len(dims) == rank(node.args[0]) else None

    def remap_args(self, node, frame):
        dpos, _ = self.spec(node)
        args, kwargs = list(node.args), dict(node.kwargs)
        if dpos is None:
            return tuple(args), kwargs
        ndim = rank(node.args[0])
        dims = arg(node, dpos, "dim", None)
        if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
            return tuple(args), kwargs
        if isinstance(dims, int):
            new = frame.index(norm_dim(dims, ndim))
        else:
            new = sorted(frame.index(norm_dim(d, ndim)) for d in dims)
        if len(args) > dpos:
            args[dpos] = new
        else:
            kwargs["dim"] = new
        return tuple(args), kwargs


# --- dims removed or added ----------------------------------------------------------------

@register(aten.select, aten.unbind)
class Select(FollowInput):
    def dim(self, node):
        return norm_dim(arg(node, 1, "dim", 0), rank(node.args[0]))

    def plan(self, node, frame):
        p = super().plan(node, frame)
        if p is not None:
            out = drop_dims(frame, [self.dim(node)])
            p.outs = [out if r is not None else None for r in out_ranks(node)]
        return p

    def frame_from_output(self, node, perm, index=0):
        return insert_dim(perm, self.dim(node), 0)

    def remap_args(self, node, frame):
        args = list(node.args)
        new = frame.index(self.dim(node))
        if len(args) > 1:
            args[1] = new
            return tuple(args), dict(node.kwargs)
        return tuple(args), {**node.kwargs, "dim": new}


@register(aten.squeeze)
class Squeeze(FollowInput):
    def dims(self, node):
        ndim = rank(node.args[0])
        shape = list(val(node.args[0]).shape)
        dims = arg(node, 1, "dim", None)
        if dims is None:
            dims = list(range(ndim))
        elif isinstance(dims, int):
            dims = [dims]
        dims = [norm_dim(d, ndim) for d in dims]
        return [d for d in dims if isinstance(shape[d], int) and shape[d] == 1]

    def plan(self, node, frame):
        p = super().plan(node, frame)
        if p is not None:
            p.outs = [drop_dims(frame, self.dims(node))]
        return p

    def frame_from_output(self, node, perm, index=0):
        frame = tuple(perm)
        for d in self.dims(node):
            frame = insert_dim(frame, d, 0)
        return frame

    def remap_args(self, node, frame):
        return (node.args[0], sorted(frame.index(d) for d in self.dims(node))), {}

    def rewrite(self, node, frame, plan, b):
        dims = self.dims(node)
        x = b.input(node.args[0], tuple(frame))
        if not dims:
            return x
        return b.call(aten.squeeze.dims, (x, sorted(frame.index(d) for d in dims)))


@register(aten.unsqueeze)
class Unsqueeze(FollowInput):
    def dim(self, node):
        return norm_dim(node.args[1], rank(node))

    def position(self, node, frame):
        """Hold the new dim just before the physical position of the dim it precedes."""
        d = self.dim(node)
        following = [i for i, x in enumerate(frame) if x >= d]
        return following[0] if d < len(frame) and following else len(frame)

    def plan(self, node, frame):
        p = super().plan(node, frame)
        if p is not None:
            p.outs = [insert_dim(frame, self.dim(node), self.position(node, frame))]
        return p

    def frame_from_output(self, node, perm, index=0):
        return drop_dims(perm, [self.dim(node)])

    def remap_args(self, node, frame):
        return (node.args[0], self.position(node, frame)), {}


@register(aten.cat)
class Cat(PermRule):
    """All inputs share the frame; the dim is remapped. Empty 1-D legacy inputs are dropped."""

    def primary(self, node):
        return None

    def identity_frame(self, node):
        return identity(rank(node))

    def frame_from_input(self, node, producer, perm):
        return perm if len(perm) == rank(node) else None

    def parts(self, node):
        r = rank(node)
        return [t for t in node.args[0]
                if not (rank(t) == 1 and r > 1 and val(t).shape[0] == 0)]

    def plan(self, node, frame):
        if len(frame) != rank(node):
            return None
        return Plan([(t, tuple(frame)) for t in self.parts(node)], [tuple(frame)])

    def rewrite(self, node, frame, plan, b):
        parts = [b.input(t, tuple(frame)) for t in self.parts(node)]
        dim = frame.index(norm_dim(arg(node, 1, "dim", 0), rank(node)))
        return b.call(aten.cat.default, (parts, dim))


@register(aten.stack)
class Stack(PermRule):
    def primary(self, node):
        return None

    def identity_frame(self, node):
        return identity(rank(node) - 1)

    def frame_from_input(self, node, producer, perm):
        return perm

    def dim(self, node):
        return norm_dim(arg(node, 1, "dim", 0), rank(node))

    def position(self, node, frame):
        d = self.dim(node)
        following = [i for i, x in enumerate(frame) if x >= d]
        return following[0] if following else len(frame)

    def frame_from_output(self, node, perm, index=0):
        return drop_dims(perm, [self.dim(node)])

    def plan(self, node, frame):
        if len(frame) != rank(node) - 1:
            return None
        out = insert_dim(frame, self.dim(node), self.position(node, frame))
        return Plan([(t, tuple(frame)) for t in node.args[0]], [out])

    def rewrite(self, node, frame, plan, b):
        parts = [b.input(t, tuple(frame)) for t in node.args[0]]
        return b.call(aten.stack.default, (parts, self.position(node, frame)))


__all__ = ["FollowInput", "remap_pad"]
