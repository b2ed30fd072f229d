"""Views, permutations, concatenation, slicing, splitting, padding and slice scatters.

Strided access stays STRIDED_SLICE/RESHAPE/TRANSPOSE; a constant-index GATHER is
used only where no slice expresses the access (replicate/circular padding,
overlapping windows, strided slice_scatter, as_strided).
"""

from __future__ import annotations

import numpy as np
import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir.nodes import norm_dim
from edgebatch._convert.lowerings._util import (
    as_tensor, dynamic_shape, norm_dims, on_constant, out_tf_dtype, static_shape, tf_rank,
)
from edgebatch._convert.lowerings.elementwise import is_tensor
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten

_INT32_MAX = 2**31 - 1


def output_shape(ctx, size=None) -> list:
    """The node's output shape for tf.reshape/fill: static dims as Python ints from FX
    meta; a symbolic dim as the TF scalar that `size` (the op's SymInt[] argument)
    holds for it, else -1."""
    shape = []
    for i, dim in enumerate(ctx.out_shape()):
        if isinstance(dim, int):
            shape.append(dim)
        elif size is not None and is_tensor(size[i]):
            shape.append(size[i])
        else:
            shape.append(-1)
    return shape


def slice_along(x, dim: int, begin=None, end=None, step=1):
    """x[..., begin:end:step, ...] on axis `dim` (None: from the start / to the end)."""
    n = tf_rank(x)
    begins, ends, strides = [0] * n, [0] * n, [1] * n
    other_dims = sum(1 << i for i in range(n) if i != dim)
    begin_mask = end_mask = other_dims
    if begin is None:
        begin_mask |= 1 << dim
    else:
        begins[dim] = begin
    if end is None or (not is_tensor(end) and end >= _INT32_MAX):
        end_mask |= 1 << dim
    else:
        ends[dim] = end
    strides[dim] = step
    return tf.strided_slice(
        x, begins, ends, strides, begin_mask=begin_mask, end_mask=end_mask,
    )


def move_axis_last(x, dim: int):
    if dim == tf_rank(x) - 1:
        return x
    return tf.transpose(x, [d for d in range(tf_rank(x)) if d != dim] + [dim])


def on_last_axis(x, dim: int, fn):
    """fn(x) for an fn that works on the last axis (SOFTMAX, TOPK_V2), applied on `dim`.

    fn may return a tuple of tensors shaped like its input.
    """
    if dim == tf_rank(x) - 1:
        return fn(x)
    perm = list(range(tf_rank(x)))
    perm[dim], perm[-1] = perm[-1], perm[dim]  # a swap is its own inverse
    result = fn(tf.transpose(x, perm))
    if isinstance(result, tuple):
        return tuple(tf.transpose(r, perm) for r in result)
    return tf.transpose(result, perm)


# view(Tensor(a) self, SymInt[] size) -> Tensor(a)
# view_copy(Tensor self, SymInt[] size) -> Tensor
@lower(aten.view.default, aten.view_copy.default)
def aten_view(ctx, self, size):
    shape = output_shape(ctx, size)
    if shape == self.shape.as_list():
        return self
    if all(isinstance(d, int) for d in shape):
        return on_constant(lambda x: tf.reshape(x, shape), self)
    return tf.reshape(self, shape)


# permute(Tensor(a) self, int[] dims) -> Tensor(a)
# permute_copy(Tensor self, int[] dims) -> Tensor
@lower(aten.permute.default, aten.permute_copy.default)
def aten_permute(ctx, self, dims):
    dims = norm_dims(dims, tf_rank(self))
    return self if dims == sorted(dims) else on_constant(lambda x: tf.transpose(x, dims), self)


# expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)
@lower(aten.expand.default)
def aten_expand(ctx, self, size, *, implicit=False):
    new_dims = len(size) - tf_rank(self)
    shape = []
    for i, (dim, requested) in enumerate(zip(ctx.out_shape(), size)):
        if isinstance(dim, int):
            shape.append(dim)
        elif is_tensor(requested):
            shape.append(requested)
        else:  # -1 on a symbolic dim: keep self's
            shape.append(tf.shape(self)[i - new_dims])
    if all(isinstance(dim, int) for dim in shape) and shape == self.shape.as_list():
        return self
    return tf.broadcast_to(self, shape)


# unsqueeze(Tensor(a) self, int dim) -> Tensor(a)
@lower(aten.unsqueeze.default)
def aten_unsqueeze(ctx, self, dim):
    return tf.expand_dims(self, norm_dim(dim, tf_rank(self) + 1))


# squeeze.dims(Tensor(a) self, int[] dim) -> Tensor(a)
@lower(aten.squeeze.dims)
def aten_squeeze(ctx, self, dim):
    shape = self.shape.as_list()
    dims = [d for d in norm_dims(dim, tf_rank(self)) if shape[d] == 1]  # others: no-op, as in torch
    return tf.squeeze(self, dims) if dims else self


# cat(Tensor[] tensors, int dim=0) -> Tensor
@lower(aten.cat.default)
def aten_cat(ctx, tensors, dim=0):
    dtype = out_tf_dtype(ctx)
    ndim = len(ctx.out_shape())
    axis = norm_dim(dim, ndim)
    # torch skips empty parts, including legacy 1-D [0] tensors of any other rank.
    parts = [as_tensor(t, dtype) for t in tensors]
    parts = [t for t in parts if tf_rank(t) == ndim and t.shape[axis] != 0]
    if not parts:
        return tf.zeros(output_shape(ctx), dtype)
    return parts[0] if len(parts) == 1 else delegable_concat(parts, axis)


# XNNPACK's delegate leaves a CONCATENATION of more inputs on the CPU (and splits the graph).
MAX_CONCAT_INPUTS = 5


def delegable_concat(parts: list, axis: int):
    """tf.concat with at most MAX_CONCAT_INPUTS per op: the smallest run of adjacent parts
    is concatenated first (the only data copied twice)."""
    while len(parts) > MAX_CONCAT_INPUTS:
        width = min(len(parts) - MAX_CONCAT_INPUTS + 1, MAX_CONCAT_INPUTS)
        sizes = [t.shape[axis] or 0 for t in parts]
        start = min(range(len(parts) - width + 1), key=lambda i: sum(sizes[i:i + width]))
        parts = [*parts[:start], tf.concat(parts[start:start + width], axis),
                 *parts[start + width:]]
    return tf.concat(parts, axis)


# slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1)
# slice_copy.Tensor(Tensor self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1)
@lower(aten.slice.Tensor, aten.slice_copy.Tensor)
def aten_slice(ctx, self, dim=0, start=None, end=None, step=1):
    dim = norm_dim(dim, tf_rank(self))
    size = self.shape[dim]
    if size is not None and not is_tensor(start) and not is_tensor(end):
        start, end, step = slice(start, end, step).indices(size)  # clamps like torch
        if (start, end, step) == (0, size, 1):
            return self
    return slice_along(self, dim, start, end, step)


# select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)
# select_copy.int(Tensor self, int dim, SymInt index) -> Tensor
@lower(aten.select.int, aten.select_copy.int)
def aten_select(ctx, self, dim, index):
    dim = norm_dim(dim, tf_rank(self))
    size = self.shape[dim]
    if size is not None and not is_tensor(index) and index < 0:
        index += size
    # Slice, then drop the axis with a RESHAPE: XNNPACK does not delegate a STRIDED_SLICE
    # that shrinks an axis, and each one cut the delegated graph (vit_b_16's q/k/v selects).
    end = None if not is_tensor(index) and index == -1 else index + 1
    part = slice_along(self, dim, index, end)
    out_shape = static_shape(ctx)
    return tf.reshape(part, out_shape) if out_shape.count(-1) <= 1 else tf.squeeze(part, [dim])


# split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]
@lower(aten.split_with_sizes.default)
def aten_split_with_sizes(ctx, self, split_sizes, dim=0):
    # One slice per part, not SPLIT_V: XNNPACK does not delegate SPLIT_V, and every one
    # cut the delegated graph (shufflenet_v2: 14 partitions, most convs left on the CPU).
    dim = norm_dim(dim, tf_rank(self))
    bounds = [0]
    for size in split_sizes:
        bounds.append(bounds[-1] + size)
    return tuple(slice_along(self, dim, lo, hi) for lo, hi in zip(bounds, bounds[1:]))


# split_copy.Tensor(Tensor self, SymInt split_size, int dim=0) -> Tensor[]
@lower(aten.split_copy.Tensor)
def aten_split_copy(ctx, self, split_size, dim=0):
    sizes = [part.shape[norm_dim(dim, tf_rank(self))] for part in ctx.val]
    return aten_split_with_sizes(ctx, self, sizes, dim)


# unbind_copy.int(Tensor self, int dim=0) -> Tensor[]
@lower(aten.unbind_copy.int)
def aten_unbind_copy(ctx, self, dim=0):
    dim = norm_dim(dim, tf_rank(self))
    return tuple(tf.squeeze(part, [dim]) for part in aten_split_with_sizes(
        ctx, self, [1] * self.shape[dim], dim))


# as_strided(Tensor(a) self, SymInt[] size, SymInt[] stride, SymInt? storage_offset=None)
# as_strided_copy(Tensor self, SymInt[] size, SymInt[] stride, SymInt? storage_offset=None)
@lower(aten.as_strided.default, aten.as_strided_copy.default)
def aten_as_strided(ctx, self, size, stride, storage_offset=None):
    # A window on self's storage, which is self in row-major order when self is
    # contiguous and starts it (a graph's values do, unless they are views of another).
    source = ctx.arg_val(0)
    if not source.is_contiguous() or source.storage_offset() != 0:
        raise NotImplementedError("as_strided on a non-contiguous tensor (a view's storage)")
    flat_index = np.full(size, storage_offset or 0, dtype=np.int32)
    for axis, (length, step) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[axis] = length
        flat_index = flat_index + (np.arange(length, dtype=np.int32) * step).reshape(shape)
    return tf.gather(tf.reshape(self, [-1]), flat_index)


# clone(Tensor self, *, MemoryFormat? memory_format=None) -> Tensor
# alias(Tensor(a) self) -> Tensor(a)
@lower(aten.clone.default, aten.alias.default)
def aten_identity(ctx, self, *, memory_format=None):
    return self  # TF values are immutable: a copy is the value itself


# _to_copy(Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
#          bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None)
@lower(aten._to_copy.default)
def aten_to_copy(ctx, self, **_):
    return as_tensor(self, out_tf_dtype(ctx))


# flip(Tensor self, int[] dims) -> Tensor
@lower(aten.flip.default)
def aten_flip(ctx, self, dims):
    # TFLite's REVERSE_V2 takes only adjacent axes: one reverse per run of them.
    runs: list[list[int]] = []
    for dim in sorted(norm_dims(dims, tf_rank(self))):
        if runs and runs[-1][-1] == dim - 1:
            runs[-1].append(dim)
        else:
            runs.append([dim])
    x = self
    for run in runs:
        x = tf.reverse(x, run)
    return x


# roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor
@lower(aten.roll.default)
def aten_roll(ctx, self, shifts, dims=()):
    if not dims:  # roll the flattened tensor
        rolled = tf.roll(tf.reshape(self, [-1]), shifts[0], 0)
        return tf.reshape(rolled, dynamic_shape(self))
    return tf.roll(self, list(shifts), norm_dims(dims, tf_rank(self)))


# repeat(Tensor self, SymInt[] repeats) -> Tensor
@lower(aten.repeat.default)
def aten_repeat(ctx, self, repeats):
    x = self
    new_dims = len(repeats) - tf_rank(x)
    if new_dims > 0:
        x = tf.reshape(x, [1] * new_dims + dynamic_shape(x))
    return tf.tile(x, list(repeats))


def _pad_pairs(pad, ndim: int) -> list[list[int]]:
    """torch's flat pad list (last dim first, (before, after) each) as one pair per dim."""
    pairs = [[0, 0] for _ in range(ndim)]
    for i in range(len(pad) // 2):
        pairs[ndim - 1 - i] = [pad[2 * i], pad[2 * i + 1]]
    return pairs


def _constant_pad(x, pad, value):
    pairs = _pad_pairs(pad, tf_rank(x))
    for dim, (before, after) in enumerate(pairs):  # negative padding crops
        if before < 0 or after < 0:
            x = slice_along(x, dim, max(-before, 0), x.shape[dim] - max(-after, 0))
    pairs = [[max(before, 0), max(after, 0)] for before, after in pairs]
    return tf.pad(x, pairs, constant_values=tf.cast(value or 0, x.dtype))


def _index_pad(x, pad, source_index):
    """Pad by gathering, per dim, source_index(i, size) for i in [-before, size + after)."""
    for dim, (before, after) in enumerate(_pad_pairs(pad, tf_rank(x))):
        if before or after:
            size = x.shape[dim]
            index = [source_index(i, size) for i in range(-before, size + after)]
            x = tf.gather(x, index, axis=dim)
    return x


def _replicate_index(i: int, size: int) -> int:
    return min(max(i, 0), size - 1)


def _circular_index(i: int, size: int) -> int:
    return i % size


# pad(Tensor self, SymInt[] pad, str mode="constant", float? value=None) -> Tensor
@lower(aten.pad.default)
def aten_pad(ctx, self, pad, mode="constant", value=None):
    if mode == "constant":
        return _constant_pad(self, pad, value)
    if mode == "reflect":
        return tf.pad(self, _pad_pairs(pad, tf_rank(self)), mode="REFLECT")
    if mode == "replicate":
        return _index_pad(self, pad, _replicate_index)
    if mode == "circular":
        return _index_pad(self, pad, _circular_index)
    raise NotImplementedError(f"pad mode '{mode}'")


# constant_pad_nd(Tensor self, SymInt[] pad, Scalar value=0) -> Tensor
@lower(aten.constant_pad_nd.default)
def aten_constant_pad_nd(ctx, self, pad, value=0):
    return _constant_pad(self, pad, value)


# unfold(Tensor(a) self, int dimension, int size, int step) -> Tensor(a)
@lower(aten.unfold.default)
def aten_unfold(ctx, self, dimension, size, step):
    dim = norm_dim(dimension, tf_rank(self))
    count = ctx.out_shape()[dim]
    if step == size:  # non-overlapping windows are a reshape
        shape = dynamic_shape(self)
        shape[dim:dim + 1] = [count, size]
        windows = tf.reshape(slice_along(self, dim, 0, count * size), shape)
    else:
        index = [[w * step + k for k in range(size)] for w in range(count)]
        windows = tf.gather(self, index, axis=dim)
    return move_axis_last(windows, dim + 1)  # torch puts the window axis last


# slice_scatter(Tensor self, Tensor src, int dim=0, SymInt? start=None, SymInt? end=None,
#               SymInt step=1) -> Tensor
@lower(aten.slice_scatter.default)
def aten_slice_scatter(ctx, self, src, dim=0, start=None, end=None, step=1):
    dim = norm_dim(dim, tf_rank(self))
    size = self.shape[dim]
    src = as_tensor(src, self.dtype)
    start, end, step = slice(start, end, step).indices(size)
    if step == 1:
        parts = [slice_along(self, dim, 0, start), src, slice_along(self, dim, end, size)]
        lengths = [start, end - start, size - end]
        return tf.concat([p for p, n in zip(parts, lengths) if n > 0], dim)
    # Each output position reads self or, inside the slice, the matching row of src.
    index = [
        size + (p - start) // step if start <= p < end and (p - start) % step == 0 else p
        for p in range(size)
    ]
    return tf.gather(tf.concat([self, src], dim), index, axis=dim)


# diagonal(Tensor(a) self, int offset=0, int dim1=0, int dim2=1) -> Tensor(a)
@lower(aten.diagonal.default)
def aten_diagonal(ctx, self, offset=0, dim1=0, dim2=1):
    n = tf_rank(self)
    dim1, dim2 = norm_dim(dim1, n), norm_dim(dim2, n)
    rest = [d for d in range(n) if d not in (dim1, dim2)]
    perm = rest + [dim1, dim2]
    matrices = self if perm == list(range(n)) else tf.transpose(self, perm)
    columns = self.shape[dim2]
    length = ctx.out_shape()[-1]
    # In the row-major flattened matrix, the diagonal is a strided slice.
    flat = tf.reshape(matrices, [*dynamic_shape(matrices)[:-2], -1])
    begin = max(-offset, 0) * columns + max(offset, 0)
    return slice_along(flat, n - 2, begin, begin + (length - 1) * (columns + 1) + 1, columns + 1)
