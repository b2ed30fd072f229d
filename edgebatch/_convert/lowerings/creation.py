"""Tensor factories: full, full_like, empty, scalar_tensor, arange."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import as_tensor, dynamic_shape, out_tf_dtype
from edgebatch._convert.lowerings.registry import lower
from edgebatch._convert.lowerings.shape import output_shape

tf = tensorflow()
aten = torch.ops.aten


# full(SymInt[] size, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None,
#      Device? device=None, bool? pin_memory=None) -> Tensor
@lower(aten.full.default)
def aten_full(ctx, size, fill_value, **_):
    return tf.fill(output_shape(ctx, size), as_tensor(fill_value, out_tf_dtype(ctx)))


# full_like(Tensor self, Scalar fill_value, *, ScalarType? dtype=None, Layout? layout=None,
#           Device? device=None, bool? pin_memory=None, MemoryFormat? memory_format=None)
@lower(aten.full_like.default)
def aten_full_like(ctx, self, fill_value, **_):
    return tf.fill(dynamic_shape(self), as_tensor(fill_value, out_tf_dtype(ctx)))


# empty.memory_format(SymInt[] size, *, ScalarType? dtype=None, ..., MemoryFormat? memory_format)
# empty_strided(SymInt[] size, SymInt[] stride, *, ScalarType? dtype=None, ...) -> Tensor
# empty_permuted(SymInt[] size, int[] physical_layout, *, ScalarType? dtype=None, ...) -> Tensor
@lower(aten.empty.memory_format, aten.empty_strided.default, aten.empty_permuted.default)
def aten_empty(ctx, size, stride_or_layout=None, **_):
    # Uninitialised memory in torch; zeros here, so the result is at least deterministic.
    return tf.zeros(output_shape(ctx, size), out_tf_dtype(ctx))


# scalar_tensor(Scalar s, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
#               bool? pin_memory=None) -> Tensor
@lower(aten.scalar_tensor.default)
def aten_scalar_tensor(ctx, s, **_):
    return as_tensor(s, out_tf_dtype(ctx))


# arange.start_step(Scalar start, Scalar end, Scalar step=1, *, ScalarType? dtype=None,
#                   Layout? layout=None, Device? device=None, bool? pin_memory=None) -> Tensor
@lower(aten.arange.start_step)
def aten_arange(ctx, start, end, step=1, **_):
    dtype = out_tf_dtype(ctx)
    # RANGE counts in int32 or float32 only; narrower dtypes (uint8 masks) are a cast away.
    count_dtype = tf.float32 if dtype.is_floating else tf.int32
    values = tf.range(*(as_tensor(v, count_dtype) for v in (start, end, step)))
    return as_tensor(values, dtype)
