"""Element-wise arithmetic, comparisons and math functions."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import as_tensor, binary_operands, out_tf_dtype
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def _scaled(ctx, other, alpha):
    if alpha == 1:
        return other
    return as_tensor(other, out_tf_dtype(ctx)) * as_tensor(alpha, out_tf_dtype(ctx))


# add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
@lower(aten.add)
def aten_add(ctx, self, other, alpha=1):
    a, b = binary_operands(ctx, self, _scaled(ctx, other, alpha))
    return tf.add(a, b)


# sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
@lower(aten.sub)
def aten_sub(ctx, self, other, alpha=1):
    a, b = binary_operands(ctx, self, _scaled(ctx, other, alpha))
    return tf.subtract(a, b)


# rsub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor
@lower(aten.rsub)
def aten_rsub(ctx, self, other, alpha=1):
    a, b = binary_operands(ctx, other, _scaled(ctx, self, alpha))
    return tf.subtract(a, b)


# mul.Tensor(Tensor self, Tensor other) -> Tensor
@lower(aten.mul)
def aten_mul(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.multiply(a, b)


# div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor
@lower(aten.div)
def aten_div(ctx, self, other, rounding_mode=None):
    if rounding_mode is None:
        a, b = binary_operands(ctx, self, other)
        return tf.divide(a, b)
    dtype = out_tf_dtype(ctx)
    a, b = as_tensor(self), as_tensor(other)
    if a.dtype.is_integer and b.dtype.is_integer and rounding_mode == "floor":
        return tf.cast(tf.math.floordiv(a, tf.cast(b, a.dtype)), dtype)
    a, b = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
    quotient = a / b
    rounded = tf.floor(quotient) if rounding_mode == "floor" else tf.sign(quotient) * tf.floor(tf.abs(quotient))
    return tf.cast(rounded, dtype)


# remainder.Tensor(Tensor self, Tensor other) -> Tensor   (sign follows the divisor, like floormod)
@lower(aten.remainder)
def aten_remainder(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.math.floormod(a, b)


# fmod.Tensor(Tensor self, Tensor other) -> Tensor   (sign follows the dividend)
@lower(aten.fmod)
def aten_fmod(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return a - tf.sign(a) * tf.math.floormod(tf.abs(a), tf.abs(b))


# pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor
@lower(aten.pow)
def aten_pow(ctx, self, exponent):
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        x = as_tensor(self, out_tf_dtype(ctx))
        if exponent == 2:
            return tf.square(x)
        if exponent == 0.5:
            return tf.sqrt(x)
        if exponent == 1:
            return x
    a, b = binary_operands(ctx, self, exponent)
    return tf.pow(a, b)


@lower(aten.maximum)
def aten_maximum(ctx, self, other):
    return tf.maximum(*binary_operands(ctx, self, other))


@lower(aten.minimum)
def aten_minimum(ctx, self, other):
    return tf.minimum(*binary_operands(ctx, self, other))


def _comparison(tf_op):
    def lowering(ctx, self, other):
        a, b = as_tensor(self), as_tensor(other)
        common = a.dtype if a.dtype.is_floating or not b.dtype.is_floating else b.dtype
        return tf_op(tf.cast(a, common), tf.cast(b, common))

    return lowering


# eq/ne/lt/le/gt/ge .Tensor and .Scalar (Tensor self, Scalar|Tensor other) -> Tensor(bool)
for _op, _tf_op in [
    (aten.eq, tf.equal), (aten.ne, tf.not_equal), (aten.lt, tf.less),
    (aten.le, tf.less_equal), (aten.gt, tf.greater), (aten.ge, tf.greater_equal),
]:
    lower(_op)(_comparison(_tf_op))


def _logical(tf_op):
    def lowering(ctx, self, other):
        return tf_op(tf.cast(self, tf.bool), tf.cast(other, tf.bool))

    return lowering


for _op, _tf_op in [
    (aten.logical_and, tf.logical_and), (aten.logical_or, tf.logical_or),
    (aten.logical_xor, tf.math.logical_xor), (aten.bitwise_and, tf.logical_and),
    (aten.bitwise_or, tf.logical_or),
]:
    lower(_op)(_logical(_tf_op))


@lower(aten.logical_not, aten.bitwise_not)
def aten_logical_not(ctx, self):
    if self.dtype != tf.bool:
        raise NotImplementedError("bitwise_not on integers")
    return tf.logical_not(self)


def _unary(tf_op):
    def lowering(ctx, self):
        return tf_op(as_tensor(self, out_tf_dtype(ctx)))

    return lowering


for _op, _tf_op in [
    (aten.neg, tf.negative), (aten.abs, tf.abs), (aten.exp, tf.exp), (aten.log, tf.math.log),
    (aten.sqrt, tf.sqrt), (aten.rsqrt, tf.math.rsqrt), (aten.sin, tf.sin), (aten.cos, tf.cos),
    (aten.tanh, tf.tanh), (aten.sigmoid, tf.sigmoid), (aten.relu, tf.nn.relu),
    (aten.floor, tf.floor), (aten.ceil, tf.math.ceil), (aten.round, tf.round),
    (aten.sign, tf.sign), (aten.reciprocal, tf.math.reciprocal), (aten.erf, tf.math.erf),
    (aten.log1p, tf.math.log1p), (aten.expm1, tf.math.expm1), (aten.square, tf.square),
    (aten.atan, tf.atan),
]:
    lower(_op)(_unary(_tf_op))


@lower(aten.trunc)
def aten_trunc(ctx, self):
    return tf.sign(self) * tf.floor(tf.abs(self))


# where.self(Tensor condition, Tensor self, Tensor other) -> Tensor
@lower(aten.where.self)
def aten_where(ctx, condition, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.where(tf.cast(condition, tf.bool), a, b)


# clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor
@lower(aten.clamp)
def aten_clamp(ctx, self, min=None, max=None):
    dtype = out_tf_dtype(ctx)
    x = as_tensor(self, dtype)
    if min is not None and max is not None and min == 0 and max == 6:
        return tf.nn.relu6(x)
    if min is not None:
        x = tf.maximum(x, as_tensor(min, dtype))
    if max is not None:
        x = tf.minimum(x, as_tensor(max, dtype))
    return x


@lower(aten.clamp_min)
def aten_clamp_min(ctx, self, min):
    return aten_clamp(ctx, self, min=min)


@lower(aten.clamp_max)
def aten_clamp_max(ctx, self, max):
    return aten_clamp(ctx, self, max=max)


# hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor
@lower(aten.hardtanh)
def aten_hardtanh(ctx, self, min_val=-1.0, max_val=1.0):
    return aten_clamp(ctx, self, min=min_val, max=max_val)


@lower(aten.relu6)
def aten_relu6(ctx, self):
    return tf.nn.relu6(self)
