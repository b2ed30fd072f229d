"""Activations and softmax, kept whole by our decomposition table."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir.nodes import norm_dim
from edgebatch._convert.lowerings._util import tf_rank
from edgebatch._convert.lowerings.registry import lower
from edgebatch._convert.lowerings.shape import on_last_axis

tf = tensorflow()
aten = torch.ops.aten


# gelu(Tensor self, *, str approximate='none') -> Tensor
@lower(aten.gelu.default)
def aten_gelu(ctx, self, *, approximate="none"):
    return tf.nn.gelu(self, approximate=approximate == "tanh")


# silu(Tensor self) -> Tensor
@lower(aten.silu.default)
def aten_silu(ctx, self):
    return self * tf.sigmoid(self)


# hardswish(Tensor self) -> Tensor
@lower(aten.hardswish.default)
def aten_hardswish(ctx, self):
    return self * tf.nn.relu6(self + 3.0) * (1.0 / 6.0)


# hardsigmoid(Tensor self) -> Tensor
@lower(aten.hardsigmoid.default)
def aten_hardsigmoid(ctx, self):
    return tf.nn.relu6(self + 3.0) * (1.0 / 6.0)


# elu(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor
@lower(aten.elu.default)
def aten_elu(ctx, self, alpha=1.0, scale=1.0, input_scale=1.0):
    if alpha == 1.0 and scale == 1.0 and input_scale == 1.0:
        return tf.nn.elu(self)
    negative = alpha * (tf.exp(self * input_scale) - 1.0)
    return scale * tf.where(self > 0, self, negative)


# leaky_relu(Tensor self, Scalar negative_slope=0.01) -> Tensor
@lower(aten.leaky_relu.default)
def aten_leaky_relu(ctx, self, negative_slope=0.01):
    return tf.nn.leaky_relu(self, alpha=negative_slope)


# rrelu_with_noise_functional(Tensor self, Tensor noise, Scalar lower=1/8, Scalar upper=1/3,
#                             bool training=False, Generator? generator=None) -> (Tensor, Tensor)
@lower(aten.rrelu_with_noise_functional.default)
def aten_rrelu_with_noise_functional(ctx, self, noise, lower=1.0 / 8, upper=1.0 / 3,
                                     training=False, generator=None):
    # Out of training, RReLU is a leaky ReLU with the mean slope; the noise is untouched.
    return tf.nn.leaky_relu(self, alpha=(lower + upper) / 2), noise


# softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor
@lower(aten.softplus.default)
def aten_softplus(ctx, self, beta=1.0, threshold=20.0):
    scaled = self * beta
    soft = tf.math.log1p(tf.exp(tf.minimum(scaled, threshold))) / beta
    return tf.where(scaled > threshold, self, soft)


# mish(Tensor self) -> Tensor
@lower(aten.mish.default)
def aten_mish(ctx, self):
    return self * tf.tanh(tf.math.softplus(self))


# log_sigmoid_forward(Tensor self) -> (Tensor output, Tensor buffer)
@lower(aten.log_sigmoid_forward.default)
def aten_log_sigmoid_forward(ctx, self):
    # The buffer only serves the backward pass.
    return tf.math.log_sigmoid(self), None


# _softmax(Tensor self, int dim, bool half_to_float) -> Tensor
# _safe_softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor
@lower(aten._softmax.default, aten._safe_softmax.default)
def aten_softmax(ctx, self, dim, *_):
    # _safe_softmax only differs for fully masked rows (all -inf → 0 instead of NaN);
    # lowering it as softmax saves 3 ops per attention block.
    return on_last_axis(self, norm_dim(dim, tf_rank(self)), tf.nn.softmax)


# _log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor
@lower(aten._log_softmax.default)
def aten_log_softmax(ctx, self, dim, half_to_float):
    return on_last_axis(self, norm_dim(dim, tf_rank(self)), tf.nn.log_softmax)
