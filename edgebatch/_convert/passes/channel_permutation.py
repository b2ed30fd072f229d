"""Fold channel shuffles into the weights around them.

ShuffleNet-style blocks permute channels with view → transpose → view: in a
channels-last graph a reshape, a TRANSPOSE and a reshape per block, all data movement.
A channel permutation commutes with per-channel ops and the next full convolution
absorbs it in its weight for free, so this pass tracks the permutation instead of
computing it.

A *virtual* tensor is a shuffled tensor written as pieces of real tensors (channel
ranges of graph nodes) plus the permutation that says where each true channel sits in
the pieces' concatenation. Shuffles, channel concatenations and channel splits/slices
only change pieces and permutation. Per-channel ops (pointwise ops, inference batch
norm, depthwise convolution) run on the concatenated pieces with their per-channel
parameters permuted; a full convolution takes the concatenated pieces with its weight's
input channels permuted. So a split after a shuffle costs a slice per piece, and only
what a convolution reads is ever concatenated.

A connected group of virtual tensors is rewritten only if every use of it ends in a
convolution; where anything else (or a graph output) needs the true channel order the
group is left as it was.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import torch

from edgebatch._convert.ir.nodes import (
    VIEWS, copy_meta, fake_value, force_name, graph_fake_mode, norm_dim, same_sizes, val,
)
from edgebatch._convert.passes.manager import PassResult
from edgebatch._convert.program_state import (
    add_constant, constant_value, placeholder_spec, remove_placeholder,
)

aten = torch.ops.aten
_BATCH_NORM = aten._native_batch_norm_legit_no_training.default
# On a node computing a per-channel op on permuted channels: its value is the original
# node's value with channels (dim 1) taken in this order.
CHANNEL_ORDER_META = "edgebatch_channel_order"


@dataclass(frozen=True)
class Piece:
    """Channels [start, stop) of `node`'s dim 1 (a graph node, or a per-channel op that
    the rewrite recomputes on permuted channels)."""

    node: torch.fx.Node
    start: int
    stop: int


@dataclass
class Virtual:
    pieces: tuple[Piece, ...]
    perm: np.ndarray  # true channel i is channel perm[i] of cat(pieces)

    @staticmethod
    def whole(node: torch.fx.Node, channels: int) -> "Virtual":
        return Virtual((Piece(node, 0, channels),), np.arange(channels))

    def shuffled(self, groups: int) -> "Virtual":
        """After view(N, g, C/g, ...) → transpose(1, 2) → view(N, C, ...)."""
        j = np.arange(len(self.perm))
        return Virtual(self.pieces, self.perm[(j % groups) * (len(j) // groups) + j // groups])

    @staticmethod
    def concat(parts: list["Virtual"]) -> "Virtual":
        pieces: list[Piece] = []
        perms, offset = [], 0
        for part in parts:
            pieces += part.pieces
            perms.append(part.perm + offset)
            offset += len(part.perm)
        return Virtual(tuple(pieces), np.concatenate(perms))

    def channels(self, start: int, stop: int) -> "Virtual":
        """True channels [start, stop): the pieces they sit in, in concatenation order."""
        wanted = self.perm[start:stop]
        order = np.sort(wanted)
        bounds = np.cumsum([0] + [p.stop - p.start for p in self.pieces])
        pieces: list[Piece] = []
        for position in order.tolist():
            k = int(np.searchsorted(bounds, position, side="right")) - 1
            source = self.pieces[k]
            channel = source.start + position - int(bounds[k])
            if pieces and pieces[-1].node is source.node and pieces[-1].stop == channel:
                pieces[-1] = Piece(source.node, pieces[-1].start, channel + 1)
            else:
                pieces.append(Piece(source.node, channel, channel + 1))
        return Virtual(tuple(pieces), np.searchsorted(order, wanted))

    def is_plain(self) -> bool:
        """One whole piece in its own order: nothing to fold."""
        return len(self.pieces) == 1 and bool(np.all(self.perm == np.arange(len(self.perm))))


# --- matching ------------------------------------------------------------------------------

def _channels(node) -> int | None:
    v = val(node)
    if isinstance(v, torch.Tensor) and v.dim() >= 2 and isinstance(v.shape[1], int):
        return v.shape[1]
    return None


def _shuffle(node: torch.fx.Node):
    """(source, groups, [intermediate nodes]) if `node` ends a channel shuffle."""
    if node.target not in VIEWS:
        return None
    chain = []
    inner = node.args[0]
    if isinstance(inner, torch.fx.Node) and inner.target is aten.clone.default:
        chain.append(inner)
        inner = inner.args[0]
    if not isinstance(inner, torch.fx.Node) or inner.target is not aten.permute.default:
        return None
    split = inner.args[0]
    if not isinstance(split, torch.fx.Node) or split.target not in VIEWS:
        return None
    chain += [inner, split]
    source = split.args[0]
    if _channels(source) is None or any(len(n.users) != 1 for n in chain):
        return None
    src, mid, out = val(source).shape, val(split).shape, val(node).shape
    rank = len(src)
    if list(inner.args[1]) != [0, 2, 1, *range(3, rank + 1)] or len(mid) != rank + 1:
        return None
    if not (same_sizes(out, src) and same_sizes(mid[3:], src[2:])
            and isinstance(mid[1], int) and isinstance(mid[2], int)
            and mid[1] * mid[2] == src[1] and same_sizes(mid[:1], src[:1])):
        return None
    return source, mid[1], chain


def _split_range(item: torch.fx.Node):
    """(source, start, stop) if `item` is one output of a split along dim 1."""
    split, index = item.args
    if not isinstance(split, torch.fx.Node) or not split.args:
        return None
    source = split.args[0]
    if _channels(source) is None:
        return None
    if split.target is aten.split_with_sizes.default:
        sizes = list(split.args[1])
    elif split.target is aten.split.Tensor:
        size = split.args[1]
        sizes = [min(size, _channels(source) - s) for s in range(0, _channels(source), size)]
    else:
        return None
    dim = split.args[2] if len(split.args) > 2 else split.kwargs.get("dim", 0)
    if norm_dim(dim, val(source).dim()) != 1:
        return None
    start = sum(sizes[:index])
    return source, start, start + sizes[index]


def _slice_range(node: torch.fx.Node):
    defaults = (None, 0, None, None, 1)  # slice.Tensor(self, dim, start, end, step)
    source, dim, start, stop, step = tuple(node.args) + defaults[len(node.args):]
    if node.kwargs:
        return None
    c = _channels(source)
    if c is None or norm_dim(dim, val(source).dim()) != 1 or step != 1:
        return None
    start = 0 if start is None else (start + c if start < 0 else start)
    stop = c if stop is None else (stop + c if stop < 0 else stop)
    start, stop = max(0, min(start, c)), max(0, min(stop, c))
    return (source, start, stop) if start < stop else None


def _pointwise(node: torch.fx.Node) -> bool:
    """A pointwise op on one tensor (its other arguments are scalars)."""
    target = node.target
    if not isinstance(target, torch._ops.OpOverload) or torch.Tag.pointwise not in target.tags:
        return False
    others = [n for n in node.all_input_nodes if n is not node.args[0]]
    return not others and isinstance(val(node), torch.Tensor)


class _Plan:
    """Which nodes are virtual, what they hold, and which groups can be rewritten."""

    def __init__(self, program: torch.export.ExportedProgram):
        self.program = program
        self.virtual: dict[torch.fx.Node, Virtual] = {}
        self.shuffles: set[torch.fx.Node] = set()  # the view that ends each shuffle
        self.channelwise: set[torch.fx.Node] = set()  # recomputed on permuted channels
        self.internal: set[torch.fx.Node] = set()  # shuffle intermediates, split and BN nodes
        self.absorbers: list[torch.fx.Node] = []
        self._parent: dict[torch.fx.Node, torch.fx.Node] = {}

    # union-find over virtual nodes: a group is rewritten or kept whole
    def _root(self, node):
        while self._parent.get(node, node) is not node:
            node = self._parent[node]
        return node

    def _join(self, node, *sources):
        self._parent.setdefault(node, node)
        for source in sources:
            if source in self.virtual:
                self._parent[self._root(source)] = self._root(node)

    def _of(self, node) -> Virtual:
        return self.virtual.get(node) or Virtual.whole(node, _channels(node))

    def _add(self, node, virtual: Virtual, *sources) -> None:
        self.virtual[node] = virtual
        self._join(node, *sources)

    def _add_channelwise(self, node, source) -> None:
        """A per-channel op's output: one piece (its recomputation), source's permutation."""
        self._add(node, Virtual((Piece(node, 0, _channels(node)),), self.virtual[source].perm),
                  source)
        self.channelwise.add(node)

    def constant(self, node) -> torch.Tensor | None:
        return constant_value(self.program, node)

    def _channelwise_params(self, node) -> list | None:
        """Per-channel parameter nodes of a channelwise op (None entries allowed), or None
        if `node` is not one this pass can permute."""
        if node.target is operator.getitem and node.args[1] == 0 \
                and node.args[0].target is _BATCH_NORM:
            params = list(node.args[0].args[1:5])
        elif node.target is aten.convolution.default and _depthwise(node):
            params = [node.args[1], node.args[2]]
        else:
            return None
        if all(p is None or self.constant(p) is not None for p in params):
            return params
        return None

    def build(self, graph: torch.fx.Graph) -> None:
        for node in graph.nodes:
            if node.op != "call_function":
                continue
            shuffle = _shuffle(node)
            if shuffle is not None:
                source, groups, chain = shuffle
                self._add(node, self._of(source).shuffled(groups), source)
                self.shuffles.add(node)
                self.internal.update(chain)
            elif node.target is aten.cat.default and any(i in self.virtual for i in node.args[0]):
                inputs = node.args[0]
                dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
                if norm_dim(dim, val(node).dim()) == 1 \
                        and all(_channels(i) is not None for i in inputs):
                    self._add(node, Virtual.concat([self._of(i) for i in inputs]), *inputs)
            elif node.target is operator.getitem and node.args[0].args \
                    and node.args[0].args[0] in self.virtual:
                found = _split_range(node)
                if found is not None:
                    source, start, stop = found
                    self._add(node, self.virtual[source].channels(start, stop), source)
                    self.internal.add(node.args[0])
                elif self._channelwise_params(node) is not None:
                    self._add_channelwise(node, node.args[0].args[0])
                    self.internal.add(node.args[0])
            elif node.target is aten.slice.Tensor and node.args[0] in self.virtual:
                found = _slice_range(node)
                if found is not None:
                    source, start, stop = found
                    self._add(node, self.virtual[source].channels(start, stop), source)
            elif node.args and node.args[0] in self.virtual and (
                    _pointwise(node) or self._channelwise_params(node) is not None):
                self._add_channelwise(node, node.args[0])
            elif node.target is aten.convolution.default and node.args[0] in self.virtual \
                    and _full_conv(node) and self.constant(node.args[1]) is not None:
                self.absorbers.append(node)
                self._join(node, node.args[0])
        self._keep_groups_ending_in_convolutions()

    def _keep_groups_ending_in_convolutions(self) -> None:
        absorbers = set(self.absorbers)
        bad_roots = set()
        for node in self.virtual:
            for user in node.users:
                if user in self.virtual or user in absorbers:
                    continue
                if user in self.internal and all(
                        u in self.virtual or u in self.internal for u in user.users):
                    continue
                bad_roots.add(self._root(node))
        self.absorbers = [a for a in self.absorbers if self._root(a) not in bad_roots]
        live = {self._root(a) for a in self.absorbers}  # groups that end in convolutions
        for node in [n for n in self.virtual if self._root(n) not in live]:
            del self.virtual[node]
        self.shuffles &= self.virtual.keys()
        self.channelwise &= self.virtual.keys()


def _depthwise(node: torch.fx.Node) -> bool:
    x, w, _b, _stride, _pad, _dil, transposed, _out_pad, groups = node.args
    c = _channels(x)
    return not transposed and c is not None and groups == c and val(w).shape[0] == c


def _full_conv(node: torch.fx.Node) -> bool:
    return node.args[8] == 1


class _Rewrite:
    def __init__(self, program: torch.export.ExportedProgram, plan: _Plan):
        self.program = program
        self.graph = program.graph_module.graph
        self.plan = plan
        self.physical: dict[torch.fx.Node, torch.fx.Node] = {}
        self._materialized: dict[tuple[Piece, ...], torch.fx.Node] = {}
        self.replaced_constants: set[torch.fx.Node] = set()
        self.fake_mode = graph_fake_mode(self.graph)

    def emit(self, target, args, meta_from: torch.fx.Node, kwargs=None) -> torch.fx.Node:
        node = self.graph.call_function(target, tuple(args), kwargs or {})
        node.meta.update(copy_meta(meta_from))
        node.meta["val"] = fake_value(self.fake_mode, target, node.args, node.kwargs)
        return node

    def materialize(self, virtual: Virtual, meta_from: torch.fx.Node) -> torch.fx.Node:
        """cat(pieces) along dim 1 (a node shared by every consumer of the same pieces)."""
        key = virtual.pieces
        if key not in self._materialized:
            parts = []
            for piece in virtual.pieces:
                node = self.physical.get(piece.node, piece.node)
                if (piece.start, piece.stop) != (0, _channels(node)):
                    node = self.emit(aten.slice.Tensor, (node, 1, piece.start, piece.stop),
                                     meta_from)
                parts.append(node)
            self._materialized[key] = parts[0] if len(parts) == 1 else \
                self.emit(aten.cat.default, (parts, 1), meta_from)
        return self._materialized[key]

    def permuted(self, weight: torch.fx.Node, dim: int, order: np.ndarray) -> torch.fx.Node:
        """A new constant: `weight` with its `dim` taken in `order`."""
        tensor = self.plan.constant(weight)
        spec = placeholder_spec(self.program, weight)
        new = add_constant(self.program, f"{spec.target}_channel_order",
                           tensor.index_select(dim, torch.as_tensor(order)).contiguous())
        self.replaced_constants.add(weight)
        return new

    def channelwise(self, node: torch.fx.Node) -> None:
        """Recompute a per-channel op on the permuted channels of its input."""
        source = node.args[0].args[0] if node.target is operator.getitem else node.args[0]
        virtual = self.plan.virtual[source]
        inverse = np.argsort(virtual.perm)
        with self.graph.inserting_before(node):
            x = self.materialize(virtual, node)
            if node.target is operator.getitem:  # inference batch norm
                bn = node.args[0]
                params = [None if p is None else self.permuted(p, 0, inverse) for p in bn.args[1:5]]
                new = self.emit(operator.getitem,
                                (self.emit(_BATCH_NORM, (x, *params, *bn.args[5:]), bn), 0), node)
            elif node.target is aten.convolution.default:  # depthwise
                weight, bias = (None if p is None else self.permuted(p, 0, inverse)
                                for p in node.args[1:3])
                new = self.emit(node.target, (x, weight, bias, *node.args[3:]), node)
            else:
                new = self.emit(node.target, (x, *node.args[1:]), node, node.kwargs)
        new.meta[CHANNEL_ORDER_META] = tuple(inverse.tolist())
        self.physical[node] = new

    def absorb(self, conv: torch.fx.Node) -> None:
        virtual = self.plan.virtual[conv.args[0]]
        transposed = conv.args[6]
        with self.graph.inserting_before(conv):
            x = self.materialize(virtual, conv)
            weight = conv.args[1] if virtual.is_plain() else \
                self.permuted(conv.args[1], 0 if transposed else 1, np.argsort(virtual.perm))
            new = self.emit(conv.target, (x, weight, *conv.args[2:]), conv)
        conv.replace_all_uses_with(new)
        self.physical[conv] = new

    def run(self) -> None:
        absorbers = set(self.plan.absorbers)
        for node in list(self.graph.nodes):
            if node in absorbers:
                self.absorb(node)
            elif node in self.plan.channelwise:
                self.channelwise(node)
        names = {new: old.name for old, new in self.physical.items()}
        self.graph.eliminate_dead_code()
        for new, name in names.items():  # the new node takes over the name it replaces
            force_name(self.graph, new, name)
        for weight in self.replaced_constants:
            if not weight.users:
                remove_placeholder(self.program, weight)


def fold_channel_permutations(program: torch.export.ExportedProgram) -> PassResult:
    """Rewrite `program` in place."""
    plan = _Plan(program)
    plan.build(program.graph_module.graph)
    if plan.absorbers:
        _Rewrite(program, plan).run()
    return PassResult(bool(plan.absorbers), {"folded_shuffles": len(plan.shuffles)})


__all__ = ["CHANNEL_ORDER_META", "fold_channel_permutations"]
