"""Activations and softmax, kept whole by our decomposition table."""

from __future__ import annotations


import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import norm_dim, rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


# gelu(Tensor self, *, str approximate='none') -> Tensor
@lower(aten.gelu)
def aten_gelu(ctx, self, approximate="none"):
    return tf.nn.gelu(self, approximate=approximate == "tanh")


@lower(aten.silu)
def aten_silu(ctx, self):
    return self * tf.sigmoid(self)


@lower(aten.hardswish)
def aten_hardswish(ctx, self):
    return self * tf.nn.relu6(self + 3.0) * (1.0 / 6.0)


@lower(aten.hardsigmoid)
def aten_hardsigmoid(ctx, self):
    return tf.nn.relu6(self + 3.0) * (1.0 / 6.0)


# elu(Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1) -> Tensor
@lower(aten.elu)
def aten_elu(ctx, self, alpha=1.0, scale=1.0, input_scale=1.0):
    if alpha == 1.0 and scale == 1.0 and input_scale == 1.0:
        return tf.nn.elu(self)
    negative = alpha * (tf.exp(self * input_scale) - 1.0)
    return scale * tf.where(self > 0, self, negative)


# leaky_relu(Tensor self, Scalar negative_slope=0.01) -> Tensor
@lower(aten.leaky_relu)
def aten_leaky_relu(ctx, self, negative_slope=0.01):
    return tf.nn.leaky_relu(self, alpha=negative_slope)


# softplus(Tensor self, Scalar beta=1, Scalar threshold=20) -> Tensor
@lower(aten.softplus)
def aten_softplus(ctx, self, beta=1.0, threshold=20.0):
    scaled = self * beta
    soft = tf.math.log1p(tf.exp(tf.minimum(scaled, threshold))) / beta
    return tf.where(scaled > threshold, self, soft)


@lower(aten.mish)
def aten_mish(ctx, self):
    return self * tf.tanh(tf.math.softplus(self))


# log_sigmoid_forward(Tensor self) -> (Tensor output, Tensor buffer)
@lower(aten.log_sigmoid_forward)
def aten_log_sigmoid_forward(ctx, self):
    return tf.math.log_sigmoid(self), None


def _softmax_last_axis(x, dim: int, fn):
    dim = norm_dim(dim, rank(x))
    if dim == rank(x) - 1:
        return fn(x)
    perm = list(range(rank(x)))
    perm[dim], perm[-1] = perm[-1], perm[dim]
    return tf.transpose(fn(tf.transpose(x, perm)), perm)


# _softmax(Tensor self, int dim, bool half_to_float) -> Tensor
# _safe_softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor
@lower(aten._softmax, aten._safe_softmax, aten.softmax.int)
def aten_softmax(ctx, self, dim, *_):
    # _safe_softmax only differs for fully masked rows (all -inf → 0 instead of NaN);
    # lowering it as softmax saves 3 ops per attention block.
    return _softmax_last_axis(self, dim, tf.nn.softmax)


# _log_softmax(Tensor self, int dim, bool half_to_float) -> Tensor
@lower(aten._log_softmax, aten.log_softmax.int)
def aten_log_softmax(ctx, self, dim, *_):
    return _softmax_last_axis(self, dim, tf.nn.log_softmax)


# glu(Tensor self, int dim=-1) -> Tensor
@lower(aten.glu)
def aten_glu(ctx, self, dim=-1):
    a, b = tf.split(self, 2, axis=norm_dim(dim, rank(self)))
    return a * tf.sigmoid(b)


