"""Tensor factories: full, zeros/ones-like, arange, scalar_tensor."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import as_tensor, dynamic_shape, out_tf_dtype
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


# full(SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, ...) -> Tensor
@lower(aten.full.default)
def aten_full(ctx, size, fill_value, **_):
    return tf.fill(list(size), as_tensor(fill_value, out_tf_dtype(ctx)))


# full_like(Tensor self, Scalar fill_value, *, ScalarType? dtype=None, ...) -> Tensor
@lower(aten.full_like)
def aten_full_like(ctx, self, fill_value, **_):
    return tf.fill(dynamic_shape(self), as_tensor(fill_value, out_tf_dtype(ctx)))


# scalar_tensor(Scalar s, *, ScalarType? dtype=None, ...) -> Tensor
@lower(aten.scalar_tensor)
def aten_scalar_tensor(ctx, s, **_):
    return as_tensor(s, out_tf_dtype(ctx))


# arange.start_step(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None, ...)
@lower(aten.arange.start_step, aten.arange.start, aten.arange.default)
def aten_arange(ctx, *args, **_):
    start, end, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
    return tf.range(start, end, step, dtype=out_tf_dtype(ctx))
