"""Views, reshapes, permutations, concatenation, slicing and splitting."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import (
    as_tensor, dynamic_shape, norm_dim, norm_dims, out_tf_dtype, rank, static_shape,
)
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def _reshape_to_output(ctx, x):
    shape = static_shape(ctx)
    if shape == x.shape.as_list():
        return x
    if shape.count(-1) > 1:
        raise NotImplementedError("reshape with more than one symbolic dim")
    return tf.reshape(x, shape)


# view(Tensor(a) self, SymInt[] size) -> Tensor(a)
@lower(aten.view, aten._unsafe_view, aten.reshape)
def aten_view(ctx, self, size):
    return _reshape_to_output(ctx, self)


# permute(Tensor(a) self, int[] dims) -> Tensor(a)
@lower(aten.permute)
def aten_permute(ctx, self, dims):
    dims = norm_dims(dims, rank(self))
    return self if dims == sorted(dims) else tf.transpose(self, dims)


# transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)
@lower(aten.transpose.int)
def aten_transpose(ctx, self, dim0, dim1):
    perm = list(range(rank(self)))
    d0, d1 = norm_dim(dim0, rank(self)), norm_dim(dim1, rank(self))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    return self if d0 == d1 else tf.transpose(self, perm)


@lower(aten.t)
def aten_t(ctx, self):
    return self if rank(self) < 2 else tf.transpose(self)


# expand(Tensor(a) self, SymInt[] size, *, bool implicit=False) -> Tensor(a)
@lower(aten.expand)
def aten_expand(ctx, self, size, implicit=False):
    shape = ctx.out_shape()
    if [d for d in shape] == self.shape.as_list():
        return self
    target = [d if isinstance(d, int) else tf.shape(self)[i - (len(shape) - rank(self))]
              for i, d in enumerate(shape)]
    return tf.broadcast_to(self, target)


# unsqueeze(Tensor(a) self, int dim) -> Tensor(a)
@lower(aten.unsqueeze)
def aten_unsqueeze(ctx, self, dim):
    return tf.expand_dims(self, norm_dim(dim, rank(self) + 1))


# squeeze.dims(Tensor(a) self, int[] dim) -> Tensor(a)
@lower(aten.squeeze)
def aten_squeeze(ctx, self, dim=None):
    shape = self.shape.as_list()
    dims = [d for d in norm_dims(dim, rank(self)) if shape[d] == 1]
    return tf.squeeze(self, dims) if dims else self


# cat(Tensor[] tensors, int dim=0) -> Tensor
@lower(aten.cat)
def aten_cat(ctx, tensors, dim=0):
    dtype = out_tf_dtype(ctx)
    parts = [as_tensor(t, dtype) for t in tensors]
    ndim = max(rank(t) for t in parts)
    parts = [t for t in parts if not (rank(t) == 1 and t.shape[0] == 0 and ndim > 1)]
    return parts[0] if len(parts) == 1 else tf.concat(parts, axis=norm_dim(dim, ndim))


# stack(Tensor[] tensors, int dim=0) -> Tensor
@lower(aten.stack)
def aten_stack(ctx, tensors, dim=0):
    return tf.stack(list(tensors), axis=norm_dim(dim, rank(tensors[0]) + 1))


# slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1)
@lower(aten.slice.Tensor)
def aten_slice(ctx, self, dim=0, start=None, end=None, step=1):
    ndim = rank(self)
    dim = norm_dim(dim, ndim)
    size = self.shape[dim]
    start = 0 if start is None else start
    end = size if end is None else end
    if isinstance(size, int):
        start = max(start + size, 0) if start < 0 else min(start, size)
        end = max(end + size, 0) if end < 0 else min(end, size)
        if start == 0 and end == size and step == 1:
            return self
    begin = [0] * ndim
    stop = [0] * ndim
    strides = [1] * ndim
    begin[dim], stop[dim], strides[dim] = start, end, step
    mask = sum(1 << i for i in range(ndim) if i != dim)
    return tf.strided_slice(self, begin, stop, strides, begin_mask=mask, end_mask=mask)


# select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)
@lower(aten.select.int)
def aten_select(ctx, self, dim, index):
    ndim = rank(self)
    dim = norm_dim(dim, ndim)
    if index < 0 and isinstance(self.shape[dim], int):
        index += self.shape[dim]
    begin, end, strides = [0] * ndim, [0] * ndim, [1] * ndim
    begin[dim], end[dim] = index, index + 1
    mask = sum(1 << i for i in range(ndim) if i != dim)
    end_mask = mask | ((1 << dim) if index == -1 else 0)
    return tf.strided_slice(self, begin, end, strides, begin_mask=mask, end_mask=end_mask,
                            shrink_axis_mask=1 << dim)


# split_with_sizes(Tensor(a -> *) self, SymInt[] split_sizes, int dim=0) -> Tensor(a)[]
@lower(aten.split_with_sizes)
def aten_split_with_sizes(ctx, self, split_sizes, dim=0):
    return tuple(tf.split(self, list(split_sizes), axis=norm_dim(dim, rank(self))))


# split.Tensor(Tensor(a -> *) self, SymInt split_size, int dim=0) -> Tensor(a)[]
@lower(aten.split.Tensor)
def aten_split(ctx, self, split_size, dim=0):
    dim = norm_dim(dim, rank(self))
    size = self.shape[dim]
    sizes = [split_size] * (size // split_size) + ([size % split_size] if size % split_size else [])
    return tuple(tf.split(self, sizes, axis=dim))


# unbind.int(Tensor(a -> *) self, int dim=0) -> Tensor(a)[]
@lower(aten.unbind)
def aten_unbind(ctx, self, dim=0):
    return tuple(tf.unstack(self, axis=norm_dim(dim, rank(self))))


# clone / alias / contiguous / detach / lift_fresh_copy: values are immutable in TF
@lower(aten.clone, aten.alias, aten.detach, aten.lift_fresh_copy, aten.contiguous)
def aten_identity(ctx, self, *args, **kwargs):
    return self


# _to_copy(Tensor self, *, ScalarType? dtype=None, ...) -> Tensor
@lower(aten._to_copy, aten.to.dtype)
def aten_to_copy(ctx, self, *args, **kwargs):
    return as_tensor(self, out_tf_dtype(ctx))


# flip(Tensor self, int[] dims) -> Tensor
@lower(aten.flip)
def aten_flip(ctx, self, dims):
    return tf.reverse(self, norm_dims(dims, rank(self)))


# repeat(Tensor self, SymInt[] repeats) -> Tensor
@lower(aten.repeat)
def aten_repeat(ctx, self, repeats):
    x = self
    extra = len(repeats) - rank(x)
    if extra > 0:
        x = tf.reshape(x, [1] * extra + dynamic_shape(x))
    return tf.tile(x, list(repeats))
