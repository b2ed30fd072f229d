"""Reductions (sum, mean, max, var, norms, median, ...) and scans (cumsum, cumprod, cummax)."""

from __future__ import annotations

import math

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir.nodes import norm_dim
from edgebatch._convert.lowerings._util import as_tensor, norm_dims, out_tf_dtype, tf_rank
from edgebatch._convert.lowerings.indexing import top_k
from edgebatch._convert.lowerings.registry import lower
from edgebatch._convert.lowerings.shape import output_shape, slice_along

tf = tensorflow()
aten = torch.ops.aten


def _axes(x, dim) -> list[int]:
    """Reduction axes; None or [] means all of them, as in torch."""
    return norm_dims(None if dim == [] else dim, tf_rank(x))


def _reduce(tf_op):
    # sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None)
    # mean.dim / mean.default(Tensor self, *, ScalarType? dtype=None): the same
    # prod.dim_int(Tensor self, int dim, bool keepdim=False, *, ScalarType? dtype=None)
    # amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor; likewise amin
    def lowering(ctx, self, dim=None, keepdim=False, *, dtype=None):
        x = as_tensor(self, out_tf_dtype(ctx))
        return tf_op(x, axis=_axes(x, dim), keepdims=keepdim)

    return lowering


for _op, _tf_op in [
    (aten.sum, tf.reduce_sum), (aten.mean, tf.reduce_mean), (aten.prod, tf.reduce_prod),
    (aten.amax, tf.reduce_max), (aten.amin, tf.reduce_min),
]:
    lower(_op)(_reduce(_tf_op))


# any.default(Tensor self) -> Tensor
# any.dim(Tensor self, int dim, bool keepdim=False) / any.dims(Tensor self, int[]? dim=None, ...)
@lower(aten.any)
def aten_any(ctx, self, dim=None, keepdim=False):
    x = as_tensor(self, tf.bool)
    return tf.reduce_any(x, axis=_axes(x, dim), keepdims=keepdim)


# max.default(Tensor self) -> Tensor; min.default likewise
@lower(aten.max.default)
def aten_max(ctx, self):
    return tf.reduce_max(self)


@lower(aten.min.default)
def aten_min(ctx, self):
    return tf.reduce_min(self)


def _arg_reduce(tf_op):
    # argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor   (int64 → int32)
    def lowering(ctx, self, dim=None, keepdim=False):
        if dim is None:  # over the flattened tensor; keepdim keeps every dim as 1
            index = tf_op(tf.reshape(self, [-1]), axis=0, output_type=tf.int32)
            return tf.reshape(index, output_shape(ctx)) if keepdim else index
        dim = norm_dim(dim, tf_rank(self))
        index = tf_op(self, axis=dim, output_type=tf.int32)
        return tf.expand_dims(index, dim) if keepdim else index

    return lowering


lower(aten.argmax.default)(_arg_reduce(tf.math.argmax))
lower(aten.argmin.default)(_arg_reduce(tf.math.argmin))


def _reduce_with_index(tf_reduce, tf_arg):
    # max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)
    def lowering(ctx, self, dim, keepdim=False):
        dim = norm_dim(dim, tf_rank(self))
        values = tf_reduce(self, axis=dim, keepdims=keepdim)
        if 1 not in ctx.used_outputs:
            return values, None
        indices = tf_arg(self, axis=dim, output_type=tf.int32)
        return values, tf.expand_dims(indices, dim) if keepdim else indices

    return lowering


lower(aten.max.dim)(_reduce_with_index(tf.reduce_max, tf.math.argmax))
lower(aten.min.dim)(_reduce_with_index(tf.reduce_min, tf.math.argmin))


def _variance(x, dim, correction, keepdim):
    """(var, mean) over `dim` with torch's correction (None means 1, Bessel's)."""
    axes = _axes(x, dim)
    count = math.prod(x.shape[a] for a in axes)
    correction = 1 if correction is None else correction
    mean = tf.reduce_mean(x, axis=axes, keepdims=True)
    scale = count / (count - correction) if count > correction else math.nan
    var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=axes, keepdims=keepdim) * scale
    return var, mean if keepdim else tf.squeeze(mean, axes)


# var.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False)
@lower(aten.var.correction)
def aten_var(ctx, self, dim=None, *, correction=None, keepdim=False):
    return _variance(self, dim, correction, keepdim)[0]


# std.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False)
@lower(aten.std.correction)
def aten_std(ctx, self, dim=None, *, correction=None, keepdim=False):
    return tf.sqrt(_variance(self, dim, correction, keepdim)[0])


# var_mean.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None,
#                     bool keepdim=False) -> (Tensor, Tensor)
@lower(aten.var_mean.correction)
def aten_var_mean(ctx, self, dim=None, *, correction=None, keepdim=False):
    return _variance(self, dim, correction, keepdim)


def vector_norm(x, order, dim, keepdim):
    """The `order`-norm of x over `dim` (None: all dims), as torch.linalg.vector_norm."""
    axes = _axes(x, dim)
    if order == 2:
        return tf.sqrt(tf.reduce_sum(tf.square(x), axis=axes, keepdims=keepdim))
    magnitude = tf.abs(x)
    if order == 1:
        return tf.reduce_sum(magnitude, axis=axes, keepdims=keepdim)
    if order == math.inf:
        return tf.reduce_max(magnitude, axis=axes, keepdims=keepdim)
    if order == -math.inf:
        return tf.reduce_min(magnitude, axis=axes, keepdims=keepdim)
    if order == 0:
        return tf.reduce_sum(tf.cast(tf.not_equal(x, 0), x.dtype), axis=axes, keepdims=keepdim)
    total = tf.reduce_sum(tf.pow(magnitude, order), axis=axes, keepdims=keepdim)
    return tf.pow(total, 1.0 / order)


# linalg_vector_norm(Tensor self, Scalar ord=2, int[1]? dim=None, bool keepdim=False, *,
#                    ScalarType? dtype=None) -> Tensor
@lower(aten.linalg_vector_norm.default)
def aten_linalg_vector_norm(ctx, self, ord=2, dim=None, keepdim=False, *, dtype=None):
    return vector_norm(as_tensor(self, out_tf_dtype(ctx)), ord, dim, keepdim)


# norm.ScalarOpt_dim(Tensor self, Scalar? p, int[1] dim, bool keepdim=False) -> Tensor
@lower(aten.norm.ScalarOpt_dim)
def aten_norm(ctx, self, p, dim, keepdim=False):
    return vector_norm(self, 2 if p is None else p, dim, keepdim)


def _kth_smallest(x, k: int, dim: int, keepdim: bool):
    """(value, int32 index) of the k-th smallest along dim (k from 1)."""
    values, indices = top_k(x, k, dim, largest=False)
    values, indices = slice_along(values, dim, k - 1), slice_along(indices, dim, k - 1)
    if not keepdim:
        values, indices = tf.squeeze(values, [dim]), tf.squeeze(indices, [dim])
    return values, indices


# kthvalue(Tensor self, SymInt k, int dim=-1, bool keepdim=False) -> (Tensor values, Tensor indices)
@lower(aten.kthvalue.default)
def aten_kthvalue(ctx, self, k, dim=-1, keepdim=False):
    return _kth_smallest(self, k, norm_dim(dim, tf_rank(self)), keepdim)


# median.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)
@lower(aten.median.dim)
def aten_median_dim(ctx, self, dim, keepdim=False):
    # torch's median is the lower of the two middle values.
    dim = norm_dim(dim, tf_rank(self))
    return _kth_smallest(self, (self.shape[dim] + 1) // 2, dim, keepdim)


# median(Tensor self) -> Tensor
@lower(aten.median.default)
def aten_median(ctx, self):
    return _kth_smallest(tf.reshape(self, [-1]), (self.shape.num_elements() + 1) // 2, 0, False)[0]


# cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor
@lower(aten.cumsum.default)
def aten_cumsum(ctx, self, dim, *, dtype=None):
    x = as_tensor(self, out_tf_dtype(ctx))
    return tf.cumsum(x, axis=norm_dim(dim, tf_rank(x)))


def _shifted(x, dim: int, shift: int, fill):
    """x moved `shift` places forward along dim, the first places filled with `fill`."""
    pairs = [[0, 0] for _ in range(tf_rank(x))]
    pairs[dim] = [shift, 0]
    return slice_along(tf.pad(x, pairs, constant_values=fill), dim, 0, x.shape[dim])


def _scan(tensors: tuple, dim: int, combine, fills: tuple) -> tuple:
    """Inclusive scan in log2(n) steps (Hillis-Steele): TFLite has no CUMPROD/CUMMAX.

    Each step merges every position with the partial result `shift` places before it:
    `combine(later, earlier)` over tuples of tensors; `fills` are its identities.
    """
    shift = 1
    while shift < tensors[0].shape[dim]:
        earlier = tuple(_shifted(t, dim, shift, fill) for t, fill in zip(tensors, fills))
        tensors = combine(tensors, earlier)
        shift *= 2
    return tensors


def _multiply(later, earlier):
    return (later[0] * earlier[0],)


# cumprod(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor
@lower(aten.cumprod.default)
def aten_cumprod(ctx, self, dim, *, dtype=None):
    x = as_tensor(self, out_tf_dtype(ctx))
    return _scan((x,), norm_dim(dim, tf_rank(x)), _multiply, (1,))[0]


def _log_add_exp(later, earlier):
    a, b = later[0], earlier[0]
    return (tf.maximum(a, b) + tf.math.log1p(tf.exp(-tf.abs(a - b))),)


# logcumsumexp(Tensor self, int dim) -> Tensor
@lower(aten.logcumsumexp.default)
def aten_logcumsumexp(ctx, self, dim):
    return _scan((self,), norm_dim(dim, tf_rank(self)), _log_add_exp, (-math.inf,))[0]


def _cumulative_extreme(prefer_later, fill_sign):
    # cummax(Tensor self, int dim) -> (Tensor values, Tensor indices); likewise cummin
    def combine(later, earlier):
        # On ties torch reports the later index.
        keep = prefer_later(later[0], earlier[0])
        return tuple(tf.where(keep, a, b) for a, b in zip(later, earlier))

    def lowering(ctx, self, dim):
        dim = norm_dim(dim, tf_rank(self))
        positions = tf.range(self.shape[dim], dtype=tf.int32)
        positions = tf.reshape(positions, [-1] + [1] * (tf_rank(self) - dim - 1))
        indices = tf.broadcast_to(positions, tf.shape(self))
        extreme = math.inf if self.dtype.is_floating else self.dtype.max
        return _scan((self, indices), dim, combine, (fill_sign * extreme, 0))

    return lowering


lower(aten.cummax.default)(_cumulative_extreme(tf.greater_equal, -1))
lower(aten.cummin.default)(_cumulative_extreme(tf.less_equal, 1))
