"""Indexing: embeddings, index_select, advanced and boolean indexing, gather/scatter,
index_put, searching and sorting.

Index tensors are int32 (torch's int64 never reaches the flatbuffer). Multi-dim
accesses are flattened into one axis so that a single GATHER or SCATTER_ND on it
does the work. Boolean selections get their run-time size from TFLite's WHERE.
TFLite has no sort: sorting is a full TOPK_V2.
"""

from __future__ import annotations

import math

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir.nodes import norm_dim
from edgebatch._convert.lowerings._util import as_tensor, dynamic_shape, tf_rank
from edgebatch._convert.lowerings.elementwise import is_tensor, promoted_dtype
from edgebatch._convert.lowerings.registry import lower
from edgebatch._convert.lowerings.shape import on_last_axis, slice_along

tf = tensorflow()
aten = torch.ops.aten


def _inverse(perm: list[int]) -> list[int]:
    inverse = [0] * len(perm)
    for position, axis in enumerate(perm):
        inverse[axis] = position
    return inverse


def _transpose(x, perm: list[int]):
    return x if perm == sorted(perm) else tf.transpose(x, perm)


# embedding(Tensor weight, Tensor indices, SymInt padding_idx=-1, bool scale_grad_by_freq=False,
#           bool sparse=False) -> Tensor
@lower(aten.embedding.default)
def aten_embedding(ctx, weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return tf.gather(weight, as_tensor(indices, tf.int32))


# _embedding_bag_forward_only(Tensor weight, Tensor indices, Tensor offsets,
#     bool scale_grad_by_freq=False, int mode=0, bool sparse=False, Tensor? per_sample_weights=None,
#     bool include_last_offset=False, int padding_idx=-1) -> (Tensor, Tensor, Tensor, Tensor)
# _embedding_bag(...) -> (Tensor, Tensor, Tensor, Tensor)         (the same arguments)
@lower(aten._embedding_bag_forward_only.default, aten._embedding_bag.default)
def aten_embedding_bag(ctx, weight, indices, offsets, scale_grad_by_freq=False, mode=0,
                       sparse=False, per_sample_weights=None, include_last_offset=False,
                       padding_idx=-1):
    if ctx.used_outputs - {0}:
        raise NotImplementedError("embedding_bag's offset2bag/bag_size/max_indices outputs")
    indices, offsets = as_tensor(indices, tf.int32), as_tensor(offsets, tf.int32)
    if include_last_offset:
        offsets = offsets[:-1]
    bags = tf.size(offsets)
    # Bag of each index: how many bags start at or before it, minus one.
    starts = tf.expand_dims(offsets, 0) <= tf.expand_dims(tf.range(tf.size(indices)), 1)
    bag = tf.reduce_sum(tf.cast(starts, tf.int32), axis=1) - 1
    rows = tf.gather(weight, indices)
    counted = tf.ones_like(indices, weight.dtype)
    if padding_idx >= 0:  # padding entries count for nothing
        counted = tf.cast(tf.not_equal(indices, padding_idx), weight.dtype)
        rows = rows * tf.expand_dims(counted, 1)
    if per_sample_weights is not None:
        rows = rows * tf.expand_dims(per_sample_weights, 1)
    count = tf.expand_dims(tf.math.unsorted_segment_sum(counted, bag, bags), 1)
    if mode == 2:  # max; an empty bag gives 0, as in torch
        largest = tf.math.unsorted_segment_max(rows, bag, bags)
        return tf.where(count > 0, largest, tf.zeros_like(largest)), None, None, None
    total = tf.math.unsorted_segment_sum(rows, bag, bags)
    if mode == 1:  # mean
        total = total / tf.maximum(count, 1.0)
    return total, None, None, None


# index_select(Tensor self, int dim, Tensor index) -> Tensor
@lower(aten.index_select.default)
def aten_index_select(ctx, self, dim, index):
    dim = norm_dim(dim, tf_rank(self))
    index = as_tensor(index, tf.int32)
    if tf_rank(index) == 0:  # a scalar index still keeps the dim
        index = tf.reshape(index, [1])
    return tf.gather(self, index, axis=dim)


def _advanced(x, indices):
    """Prepare torch's advanced indexing x[indices] with integer index tensors.

    Returns (merged, axis, flat, perm): `perm` is the transpose applied to x first
    (numpy rules put the index dims in front when None entries separate them), and
    `merged` is x with the indexed dims merged into one axis `axis`, into which
    `flat` (the index tensors broadcast together) points.
    """
    dims = [d for d, index in enumerate(indices) if index is not None]
    if any(indices[d].dtype == tf.bool for d in dims):
        raise NotImplementedError("a boolean mask together with other indices")
    index_tensors = [as_tensor(indices[d], tf.int32) for d in dims]
    perm = list(range(tf_rank(x)))
    if dims != list(range(dims[0], dims[-1] + 1)):
        perm = dims + [d for d in range(tf_rank(x)) if d not in dims]
        x = tf.transpose(x, perm)
        dims = list(range(len(dims)))
    flat, stride = None, 1
    for dim, index in reversed(list(zip(dims, index_tensors))):
        size = x.shape[dim] if x.shape[dim] is not None else tf.shape(x)[dim]
        position = tf.math.floormod(index, size) * stride  # negative indices count from the end
        flat = position if flat is None else position + flat
        stride *= size
    axis = dims[0]
    if len(dims) > 1:
        shape = dynamic_shape(x)
        x = tf.reshape(x, shape[:axis] + [stride] + shape[dims[-1] + 1:])
    return x, axis, flat, perm


def _single_mask(indices):
    """(dim, mask) when the indices are one boolean mask (after leading Nones), else None."""
    dims = [d for d, index in enumerate(indices) if index is not None]
    if len(dims) == 1 and indices[dims[0]].dtype == tf.bool:
        return dims[0], indices[dims[0]]
    return None


def _true_positions(mask):
    """Flat positions of mask's True entries, in order, as int32 (WHERE yields int64)."""
    return tf.cast(tf.reshape(tf.where(tf.reshape(mask, [-1])), [-1]), tf.int32)


def _merge_dims(x, start: int, count: int):
    """x with its dims [start, start + count) merged into one."""
    shape = dynamic_shape(x)
    return tf.reshape(x, shape[:start] + [-1] + shape[start + count:])


# index.Tensor(Tensor self, Tensor?[] indices) -> Tensor
@lower(aten.index.Tensor)
def aten_index(ctx, self, indices):
    masked = _single_mask(indices)
    if masked is not None:  # x[..., mask]: as many rows as True entries, known at run time
        dim, mask = masked
        return tf.gather(_merge_dims(self, dim, tf_rank(mask)), _true_positions(mask), axis=dim)
    merged, axis, flat, _ = _advanced(self, indices)
    return tf.gather(merged, flat, axis=axis)


# masked_select(Tensor self, Tensor mask) -> Tensor
@lower(aten.masked_select.default)
def aten_masked_select(ctx, self, mask):
    shape = tf.broadcast_dynamic_shape(tf.shape(self), tf.shape(mask))
    values = tf.reshape(tf.broadcast_to(self, shape), [-1])
    return tf.gather(values, _true_positions(tf.broadcast_to(mask, shape)))


# nonzero(Tensor self) -> Tensor
@lower(aten.nonzero.default)
def aten_nonzero(ctx, self):
    return tf.cast(tf.where(as_tensor(self, tf.bool)), tf.int32)


def _masked_put(self, dim, mask, values, accumulate):
    """self[..., mask] = values (or +=) as a SELECT: no scatter needed.

    `values` either broadcasts over the selected entries, or holds one row per True
    entry (mask on the leading dims): entry i then reads row cumsum(mask)[i] - 1.
    """
    trailing = tf_rank(self) - dim - tf_rank(mask)
    if tf_rank(values) > trailing and values.shape[0] != 1:
        if dim != 0:
            raise NotImplementedError("per-entry values for a mask that is not on the first dim")
        order = tf.cumsum(tf.cast(tf.reshape(mask, [-1]), tf.int32)) - 1
        values = tf.reshape(tf.gather(values, tf.maximum(order, 0)), tf.shape(self))
    mask = tf.reshape(mask, [1] * dim + mask.shape.as_list() + [1] * trailing)
    if accumulate:
        return self + tf.where(mask, values, tf.zeros_like(values))
    return tf.where(mask, values, self)


# masked_scatter(Tensor self, Tensor mask, Tensor source) -> Tensor
@lower(aten.masked_scatter.default)
def aten_masked_scatter(ctx, self, mask, source):
    mask = tf.broadcast_to(mask, tf.shape(self))
    return _masked_put(self, 0, mask, tf.reshape(as_tensor(source, self.dtype), [-1]), False)


# index_put(Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False) -> Tensor
@lower(aten.index_put.default)
def aten_index_put(ctx, self, indices, values, accumulate=False):
    values = as_tensor(values, self.dtype)
    masked = _single_mask(indices)
    if masked is not None:
        return _masked_put(self, *masked, values, accumulate)
    merged, axis, flat, perm = _advanced(self, indices)
    transposed_shape = dynamic_shape(_transpose(self, perm))
    # Scatter along the merged axis, moved to the front: updates are laid out
    # [index positions, other dims...], values broadcast like the result of x[indices].
    front = [axis] + [d for d in range(tf_rank(merged)) if d != axis]
    target = _transpose(merged, front)
    result_shape = dynamic_shape(merged)
    result_shape[axis:axis + 1] = dynamic_shape(flat)
    index_dims = list(range(axis, axis + tf_rank(flat)))
    others = [d for d in range(len(result_shape)) if d not in index_dims]
    flat = tf.reshape(flat, [-1])
    updates = _transpose(tf.broadcast_to(values, result_shape), index_dims + others)
    updates = tf.reshape(updates, [-1] + dynamic_shape(target)[1:])
    target = _scatter_into(target, flat, updates, values, accumulate)
    merged = _transpose(target, _inverse(front))
    return _transpose(tf.reshape(merged, transposed_shape), _inverse(perm))


def _scatter_into(target, positions, updates, values, accumulate: bool):
    """target with `updates` (one per entry of `positions`, along axis 0) added or written.

    SCATTER_ND adds up updates that meet at one position. To write, a mask of the hit
    positions selects between target and the scattered updates; when `values` is a
    single broadcast value it is selected directly, so repeated positions stay exact.
    Repeated positions with different values add up: scatter keeps torch's last write by
    zeroing the others first (_last_writes); for index_put torch leaves the winner undefined.
    """
    positions = tf.expand_dims(positions, -1)
    shape = tf.shape(target)
    if accumulate:
        return target + tf.scatter_nd(positions, updates, shape)
    hits = tf.scatter_nd(positions, tf.ones_like(positions[:, 0]), shape[:1]) > 0
    hits = tf.reshape(hits, [-1] + [1] * (tf_rank(target) - 1))
    if values.shape.num_elements() == 1:
        return tf.where(hits, tf.reshape(values, []), target)
    return tf.where(hits, tf.scatter_nd(positions, updates, shape), target)


def _flat_positions(shape: list[int], dim: int, index):
    """Positions in the flattened tensor of `shape` of the elements torch's gather/scatter
    address: index's own coordinates, with `index` itself on axis `dim`."""
    strides = [math.prod(shape[d + 1:]) for d in range(len(shape))]
    index_shape = index.shape.as_list()
    positions = index * strides[dim]
    for d, (size, stride) in enumerate(zip(index_shape, strides)):
        if d != dim and size > 1:
            coordinate = tf.reshape(tf.range(size) * stride, [size] + [1] * (len(shape) - d - 1))
            positions = positions + coordinate
    return positions


# gather(Tensor self, int dim, Tensor index, *, bool sparse_grad=False) -> Tensor
@lower(aten.gather.default)
def aten_gather(ctx, self, dim, index, *, sparse_grad=False):
    dim = norm_dim(dim, tf_rank(self))
    positions = _flat_positions(self.shape.as_list(), dim, as_tensor(index, tf.int32))
    return tf.gather(tf.reshape(self, [-1]), positions)


def _scatter_operands(self, dim, index, src):
    """(flat self, flat positions, flat updates) of torch's scatter family."""
    dim = norm_dim(dim, tf_rank(self))
    index = as_tensor(index, tf.int32)
    if is_tensor(src):
        for d, size in enumerate(index.shape.as_list()):  # torch reads src only where index is
            if src.shape[d] != size:
                src = slice_along(src, d, 0, size)
    src = tf.cast(src, self.dtype)
    positions = tf.reshape(_flat_positions(self.shape.as_list(), dim, index), [-1])
    updates = tf.reshape(tf.broadcast_to(src, tf.shape(index)), [-1])
    return tf.reshape(self, [-1]), positions, updates


def _last_writes(positions, updates, size: int):
    """updates with every write but the last one to each position set to zero: SCATTER_ND
    adds the writes that meet, torch keeps the last (in index order)."""
    order = tf.range(tf.size(positions))
    last = tf.math.unsorted_segment_max(order, positions, size)
    return tf.where(tf.gather(last, positions) == order, updates, tf.zeros_like(updates))


# scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor
# scatter.value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor
@lower(aten.scatter.src, aten.scatter.value)
def aten_scatter(ctx, self, dim, index, src):
    flat, positions, updates = _scatter_operands(self, dim, index, src)
    if is_tensor(src) and src.shape.num_elements() != 1:
        updates = _last_writes(positions, updates, self.shape.num_elements())
    src = as_tensor(src, self.dtype)
    return tf.reshape(_scatter_into(flat, positions, updates, src, False), self.shape)


# scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor
@lower(aten.scatter_add.default)
def aten_scatter_add(ctx, self, dim, index, src):
    flat, positions, updates = _scatter_operands(self, dim, index, src)
    return tf.reshape(_scatter_into(flat, positions, updates, src, True), self.shape)


_SEGMENT_REDUCTIONS = {
    "sum": (tf.math.unsorted_segment_sum, tf.add),
    "mean": (tf.math.unsorted_segment_sum, tf.add),
    "prod": (tf.math.unsorted_segment_prod, tf.multiply),
    "amax": (tf.math.unsorted_segment_max, tf.maximum),
    "amin": (tf.math.unsorted_segment_min, tf.minimum),
}


# scatter_reduce.two(Tensor self, int dim, Tensor index, Tensor src, str reduce, *,
#                    bool include_self=True) -> Tensor
@lower(aten.scatter_reduce.two)
def aten_scatter_reduce(ctx, self, dim, index, src, reduce, *, include_self=True):
    flat, positions, updates = _scatter_operands(self, dim, index, src)
    size = self.shape.num_elements()
    segment_reduce, combine = _SEGMENT_REDUCTIONS[reduce]
    reduced = segment_reduce(updates, positions, size)
    count = tf.math.unsorted_segment_sum(tf.ones_like(updates), positions, size)
    if include_self:
        reduced = combine(flat, reduced)
        if reduce == "mean":
            count = count + 1
    if reduce == "mean":
        divisor = tf.maximum(count, tf.ones_like(count))
        reduced = reduced / divisor if self.dtype.is_floating else reduced // divisor
    # Positions no index names keep self (an empty segment's reduction is meaningless).
    return tf.reshape(tf.where(count > 0, reduced, flat), self.shape)


def _count_below(sorted_values, values, right: bool):
    """How many of sorted_values lie below each value (at or below it if `right`)."""
    dtype = promoted_dtype(sorted_values, values)
    below = tf.less_equal if right else tf.less
    values = tf.expand_dims(as_tensor(values, dtype), -1)
    return tf.reduce_sum(tf.cast(below(as_tensor(sorted_values, dtype), values), tf.int32), -1)


# bucketize.Tensor(Tensor self, Tensor boundaries, *, bool out_int32=False, bool right=False)
@lower(aten.bucketize.Tensor)
def aten_bucketize(ctx, self, boundaries, *, out_int32=False, right=False):
    return _count_below(boundaries, self, right)


# searchsorted.Tensor(Tensor sorted_sequence, Tensor self, *, bool out_int32=False,
#                     bool right=False, str? side=None, Tensor? sorter=None) -> Tensor
@lower(aten.searchsorted.Tensor)
def aten_searchsorted(ctx, sorted_sequence, self, *, out_int32=False, right=False, side=None,
                      sorter=None):
    if sorter is not None:
        sorted_sequence = tf.gather(sorted_sequence, as_tensor(sorter, tf.int32),
                                    batch_dims=tf_rank(sorted_sequence) - 1)
    if tf_rank(sorted_sequence) > 1:  # a sequence per row of self: [..., 1, M] against [..., K, 1]
        sorted_sequence = tf.expand_dims(sorted_sequence, -2)
    return _count_below(sorted_sequence, self, right or side == "right")


def top_k(x, k, dim: int, largest: bool):
    """The k largest (or smallest) along `dim`, sorted, as (values, int32 indices).

    Ties keep their original order (TOPK_V2 is stable), also for the smallest,
    which are the largest of -x.
    """
    def top_k_last(values):
        if largest:
            return tuple(tf.math.top_k(values, k))
        negated, indices = tf.math.top_k(-values, k)
        return -negated, indices

    return on_last_axis(x, dim, top_k_last)


# topk(Tensor self, SymInt k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor, Tensor)
@lower(aten.topk.default)
def aten_topk(ctx, self, k, dim=-1, largest=True, sorted=True):
    return top_k(self, k, norm_dim(dim, tf_rank(self)), largest)


# sort(Tensor self, int dim=-1, bool descending=False) -> (Tensor values, Tensor indices)
# sort.stable(Tensor self, *, bool? stable, int dim=-1, bool descending=False) -> (Tensor, Tensor)
@lower(aten.sort.default, aten.sort.stable)
def aten_sort(ctx, self, dim=-1, descending=False, *, stable=None):
    dim = norm_dim(dim, tf_rank(self))
    size = self.shape[dim] if self.shape[dim] is not None else tf.shape(self)[dim]
    return top_k(self, size, dim, largest=descending)
