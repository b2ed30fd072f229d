"""Reductions: mean, sum, amax/amin, argmax/argmin, var, prod, any/all."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import as_tensor, norm_dims, out_tf_dtype, rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def _reduce(tf_op):
    # op.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None)
    def lowering(ctx, self, dim=None, keepdim=False, *, dtype=None):
        x = as_tensor(self, out_tf_dtype(ctx))
        if rank(x) == 0:
            return x
        return tf_op(x, axis=norm_dims(dim or None, rank(x)), keepdims=keepdim)

    return lowering


for _op, _tf_op in [
    (aten.mean, tf.reduce_mean), (aten.sum, tf.reduce_sum), (aten.amax, tf.reduce_max),
    (aten.amin, tf.reduce_min), (aten.prod, tf.reduce_prod),
]:
    lower(_op)(_reduce(_tf_op))


def _bool_reduce(tf_op):
    def lowering(ctx, self, dim=None, keepdim=False):
        x = tf.cast(self, tf.bool)
        return tf_op(x, axis=norm_dims(dim, rank(x)) if dim is not None else None, keepdims=keepdim)

    return lowering


lower(aten.any)(_bool_reduce(tf.reduce_any))
lower(aten.all)(_bool_reduce(tf.reduce_all))


def _arg_reduce(tf_op):
    # argmax(Tensor self, int? dim=None, bool keepdim=False) -> Tensor   (int64 → int32)
    def lowering(ctx, self, dim=None, keepdim=False):
        x = self
        if dim is None:
            x, dim = tf.reshape(x, [-1]), 0
        dim = norm_dims(dim, rank(x))[0]
        y = tf_op(x, axis=dim, output_type=tf.int32)
        return tf.expand_dims(y, dim) if keepdim else y

    return lowering


lower(aten.argmax)(_arg_reduce(tf.math.argmax))
lower(aten.argmin)(_arg_reduce(tf.math.argmin))


# var.correction(Tensor self, int[1]? dim=None, *, Scalar? correction=None, bool keepdim=False)
@lower(aten.var.correction)
def aten_var(ctx, self, dim=None, *, correction=None, keepdim=False):
    axes = norm_dims(dim, rank(self))
    count = 1
    for a in axes:
        count *= self.shape[a]
    mean = tf.reduce_mean(self, axis=axes, keepdims=True)
    squared = tf.reduce_sum(tf.square(self - mean), axis=axes, keepdims=keepdim)
    correction = 1 if correction is None else correction
    return squared / float(max(count - correction, 0))
