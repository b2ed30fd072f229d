"""Batch, layer and group normalization."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def _per_channel(v, ndim: int):
    """A [C] vector shaped to broadcast over dim 1 of a rank-`ndim` tensor."""
    return tf.reshape(v, [-1] + [1] * (ndim - 2))


# _native_batch_norm_legit_no_training(Tensor input, Tensor? weight, Tensor? bias,
#     Tensor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor)
@lower(aten._native_batch_norm_legit_no_training)
def aten_batch_norm_no_training(ctx, input, weight, bias, running_mean, running_var, momentum, eps):
    scale = tf.math.rsqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    ndim = rank(input)
    return input * _per_channel(scale, ndim) + _per_channel(shift, ndim), None, None


# native_layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight, Tensor? bias,
#                   float eps) -> (Tensor, Tensor, Tensor)
@lower(aten.native_layer_norm)
def aten_native_layer_norm(ctx, input, normalized_shape, weight, bias, eps):
    axes = list(range(rank(input) - len(normalized_shape), rank(input)))
    mean, var = tf.nn.moments(input, axes, keepdims=True)
    y = (input - mean) * tf.math.rsqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y, None, None


# native_group_norm(Tensor input, Tensor? weight, Tensor? bias, SymInt N, SymInt C, SymInt HxW,
#                   int group, float eps) -> (Tensor, Tensor, Tensor)
@lower(aten.native_group_norm)
def aten_native_group_norm(ctx, input, weight, bias, N, C, HxW, group, eps):
    ndim = rank(input)
    shape = input.shape.as_list()
    grouped = tf.reshape(input, [-1, group, C // group, *shape[2:]])
    axes = list(range(2, ndim + 1))
    mean, var = tf.nn.moments(grouped, axes, keepdims=True)
    y = tf.reshape((grouped - mean) * tf.math.rsqrt(var + eps), [-1, *shape[1:]])
    if weight is not None:
        y = y * _per_channel(weight, ndim)
    if bias is not None:
        y = y + _per_channel(bias, ndim)
    return y, None, None
