"""Batch, layer, group and instance normalization.

After the layout pass, inference batch norm is already a per-channel multiply-add (TF's
converter folds it into the convolution before it), group and instance norm arrive as
`edgebatch::group_norm_cl` on channels-last tensors, and layer norm in a layout that
holds its normalized dims last. The ATen lowerings here serve graphs in torch's layout.
"""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir import nhwc_ops
from edgebatch._convert.lowerings._util import nchw_to_nhwc, nhwc_to_nchw, tf_rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def _per_channel(v, ndim: int):
    """A [C] vector shaped to broadcast over dim 1 of a rank-`ndim` tensor."""
    return tf.reshape(v, [-1] + [1] * (ndim - 2))


def _empty(dtype):
    """torch's placeholder for statistics an op did not compute: a tensor of size 0."""
    return tf.zeros([0], dtype)


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
    ndim = tf_rank(input)
    if ndim == 2:
        return input * scale + shift, _empty(input.dtype), _empty(input.dtype)
    y = input * _per_channel(scale, ndim) + _per_channel(shift, ndim)
    return y, _empty(input.dtype), _empty(input.dtype)


def _batch_norm_batch_stats(input, weight, bias, eps):
    """(y, mean, rstd, var) with statistics over every dim but the channels (dim 1)."""
    ndim = tf_rank(input)
    axes = [0, *range(2, ndim)]
    mean, var = tf.nn.moments(input, axes, keepdims=True)
    rstd = tf.math.rsqrt(var + eps)
    y = (input - mean) * rstd
    if weight is not None:
        y = y * (weight if ndim == 2 else _per_channel(weight, ndim))
    if bias is not None:
        y = y + (bias if ndim == 2 else _per_channel(bias, ndim))
    return y, tf.reshape(mean, [-1]), tf.reshape(rstd, [-1]), tf.reshape(var, [-1])


# _native_batch_norm_legit.no_stats(Tensor input, Tensor? weight, Tensor? bias, bool training,
#     float momentum, float eps) -> (Tensor, Tensor, Tensor)      (batch statistics)
@lower(aten._native_batch_norm_legit.no_stats)
def aten_batch_norm_batch_stats(ctx, input, weight, bias, training, momentum, eps):
    y, mean, rstd, _ = _batch_norm_batch_stats(input, weight, bias, eps)
    return y, mean, rstd


def _batch_norm(ctx, input, weight, bias, running_mean, running_var, training, momentum, eps):
    """(y, save_mean, save_rstd, new running_mean, new running_var), as torch computes them."""
    if not training:
        y, save_mean, save_rstd = aten_batch_norm_no_training(
            ctx, input, weight, bias, running_mean, running_var, momentum, eps)
        return y, save_mean, save_rstd, running_mean, running_var
    y, mean, rstd, var = _batch_norm_batch_stats(input, weight, bias, eps)
    count = ctx.arg_val(0).numel() // ctx.arg_val(0).shape[1]
    unbiased = var * (count / max(count - 1, 1))
    return (y, mean, rstd, (1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * unbiased)


# _native_batch_norm_legit(Tensor input, Tensor? weight, Tensor? bias, Tensor(a!) running_mean,
#     Tensor(b!) running_var, bool training, float momentum, float eps) -> (Tensor, Tensor, Tensor)
@lower(aten._native_batch_norm_legit.default)
def aten_batch_norm_legit(ctx, input, weight, bias, running_mean, running_var, training,
                          momentum, eps):
    # The in-place update of the running statistics is training state, not a model output.
    return _batch_norm(ctx, input, weight, bias, running_mean, running_var, training,
                       momentum, eps)[:3]


# _native_batch_norm_legit_functional(Tensor input, Tensor? weight, Tensor? bias,
#     Tensor running_mean, Tensor running_var, bool training, float momentum, float eps)
#     -> (Tensor, Tensor, Tensor, Tensor running_mean_out, Tensor running_var_out)
@lower(aten._native_batch_norm_legit_functional.default)
def aten_batch_norm_functional(ctx, input, weight, bias, running_mean, running_var, training,
                               momentum, eps):
    return _batch_norm(ctx, input, weight, bias, running_mean, running_var, training,
                       momentum, eps)


def layer_norm(x, normalized_ndim: int, weight, bias, eps):
    """(y, mean, rstd); mean and rstd keep the normalized dims as size 1, as torch's do."""
    axes = list(range(tf_rank(x) - normalized_ndim, tf_rank(x)))
    mean, var = tf.nn.moments(x, axes, keepdims=True)
    rstd = tf.math.rsqrt(var + eps)
    y = (x - mean) * rstd
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y, mean, rstd


# native_layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight, Tensor? bias,
#                   float eps) -> (Tensor, Tensor, Tensor)
@lower(aten.native_layer_norm)
def aten_native_layer_norm(ctx, input, normalized_shape, weight, bias, eps):
    return layer_norm(input, len(normalized_shape), weight, bias, eps)


# layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None,
#            float eps=1e-05, bool cudnn_enable=True) -> Tensor
@lower(aten.layer_norm)
def aten_layer_norm(ctx, input, normalized_shape, weight=None, bias=None, eps=1e-5,
                    cudnn_enable=True):
    return layer_norm(input, len(normalized_shape), weight, bias, eps)[0]


def group_norm_channels_last(x, weight, bias, groups: int, eps: float, statistics=False):
    """x (N, *spatial, C): statistics over the spatial dims and C/groups channels.
    With `statistics`, also the (N, groups) mean and rstd."""
    shape = x.shape.as_list()
    channels = shape[-1]
    spatial = 1
    for s in shape[1:-1]:
        spatial = spatial * s if s is not None and isinstance(spatial, int) else None
    if spatial is None:
        dyn = tf.shape(x)
        spatial = tf.reduce_prod(dyn[1:-1])
    grouped = tf.reshape(x, [-1, spatial, groups, channels // groups])
    mean, var = tf.nn.moments(grouped, [1, 3], keepdims=True)
    rstd = tf.math.rsqrt(var + eps)
    y = (grouped - mean) * rstd
    y = tf.reshape(y, tf.shape(x) if None in shape else shape)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    if statistics:
        return y, tf.reshape(mean, [-1, groups]), tf.reshape(rstd, [-1, groups])
    return y


# group_norm_cl(Tensor x, Tensor? weight, Tensor? bias, int groups, float eps) -> Tensor
@lower(nhwc_ops.group_norm_cl)
def edgebatch_group_norm_cl(ctx, x, weight, bias, groups, eps):
    return group_norm_channels_last(x, weight, bias, groups, eps)


# native_group_norm(Tensor input, Tensor? weight, Tensor? bias, SymInt N, SymInt C, SymInt HxW,
#                   int group, float eps) -> (Tensor, Tensor, Tensor)
@lower(aten.native_group_norm)
def aten_native_group_norm(ctx, input, weight, bias, N, C, HxW, group, eps):
    y, mean, rstd = group_norm_channels_last(nchw_to_nhwc(input), weight, bias, group, eps,
                                             statistics=True)
    return nhwc_to_nchw(y), mean, rstd


# group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None,
#            float eps=1e-05, bool cudnn_enabled=True) -> Tensor
@lower(aten.group_norm)
def aten_group_norm(ctx, input, num_groups, weight=None, bias=None, eps=1e-5,
                    cudnn_enabled=True):
    return nhwc_to_nchw(group_norm_channels_last(nchw_to_nhwc(input), weight, bias, num_groups, eps))


# instance_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean,
#     Tensor? running_var, bool use_input_stats, float momentum, float eps, bool cudnn_enabled)
@lower(aten.instance_norm)
def aten_instance_norm(ctx, input, weight, bias, running_mean, running_var, use_input_stats,
                       momentum, eps, cudnn_enabled):
    ndim = tf_rank(input)
    if not use_input_stats:
        y, _, _ = aten_batch_norm_no_training(ctx, input, weight, bias, running_mean,
                                              running_var, momentum, eps)
        return y
    channels = input.shape[1]
    return nhwc_to_nchw(group_norm_channels_last(nchw_to_nhwc(input), weight, bias, channels, eps)) \
        if ndim >= 3 else input
