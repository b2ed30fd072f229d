"""Element-wise arithmetic, comparisons, logic and math functions.

TFLite has no built-in for tan, asin/acos/atan, the hyperbolic functions, erf,
integer NOT or left shift: those are formulated from built-ins (SIN/COS/EXP/LOG/
ATAN2/...) so that a model never needs Flex. Integer bitwise and/or have no such
formulation and are rejected with a clear error.
"""

from __future__ import annotations

import math

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import as_tensor, binary_operands, out_tf_dtype
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def is_tensor(value) -> bool:
    return isinstance(value, (tf.Tensor, tf.Variable))


def _category(dtype) -> int:
    return 2 if dtype.is_floating else 0 if dtype == tf.bool else 1


def promoted_dtype(*operands):
    """torch's type promotion over TF tensors and Python scalars, as a TF dtype.

    The highest category (bool < integer < floating) wins; its dtype comes from a
    tensor of that category, else it is the default (int32, float32).
    """
    tensor_dtypes = [v.dtype for v in operands if is_tensor(v)]
    scalar_dtypes = [
        tf.bool if isinstance(v, bool) else tf.int32 if isinstance(v, int) else tf.float32
        for v in operands if not is_tensor(v)
    ]
    category = max(_category(d) for d in tensor_dtypes + scalar_dtypes)
    return next((d for d in tensor_dtypes if _category(d) == category),
                {0: tf.bool, 1: tf.int32, 2: tf.float32}[category])


def _scaled(ctx, other, alpha):
    if alpha == 1:
        return other
    dtype = out_tf_dtype(ctx)
    return as_tensor(other, dtype) * as_tensor(alpha, dtype)


# add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
# add.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor
@lower(aten.add.Tensor, aten.add.Scalar)
def aten_add(ctx, self, other, alpha=1):
    a, b = binary_operands(ctx, self, _scaled(ctx, other, alpha))
    return tf.logical_or(a, b) if a.dtype == tf.bool else tf.add(a, b)


# sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor
# sub.Scalar(Tensor self, Scalar other, Scalar alpha=1) -> Tensor
@lower(aten.sub.Tensor, aten.sub.Scalar)
def aten_sub(ctx, self, other, alpha=1):
    a, b = binary_operands(ctx, self, _scaled(ctx, other, alpha))
    return tf.subtract(a, b)


# mul.Tensor(Tensor self, Tensor other) -> Tensor
# mul.Scalar(Tensor self, Scalar other) -> Tensor
@lower(aten.mul.Tensor, aten.mul.Scalar)
def aten_mul(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.logical_and(a, b) if a.dtype == tf.bool else tf.multiply(a, b)


def _trunc(x):
    return tf.where(x < 0, tf.math.ceil(x), tf.floor(x))


# div.Tensor(Tensor self, Tensor other) -> Tensor
# div.Tensor_mode(Tensor self, Tensor other, *, str? rounding_mode) -> Tensor
# div.Scalar / div.Scalar_mode: the same with a Scalar other
@lower(aten.div.Tensor, aten.div.Scalar, aten.div.Tensor_mode, aten.div.Scalar_mode)
def aten_div(ctx, self, other, *, rounding_mode=None):
    a, b = binary_operands(ctx, self, other)
    if rounding_mode is None:
        return tf.divide(a, b)
    if rounding_mode == "floor":
        return tf.math.floordiv(a, b)
    # "trunc": TFLite's integer DIV already truncates towards zero.
    return tf.truncatediv(a, b) if a.dtype.is_integer else _trunc(a / b)


# remainder.Tensor(Tensor self, Tensor other) -> Tensor   (sign of the divisor: floor mod)
# remainder.Scalar(Tensor self, Scalar other) -> Tensor
# remainder.Scalar_Tensor(Scalar self, Tensor other) -> Tensor
@lower(aten.remainder.Tensor, aten.remainder.Scalar, aten.remainder.Scalar_Tensor)
def aten_remainder(ctx, self, other):
    return tf.math.floormod(*binary_operands(ctx, self, other))


# fmod.Tensor(Tensor self, Tensor other) -> Tensor   (sign of the dividend)
# fmod.Scalar(Tensor self, Scalar other) -> Tensor
@lower(aten.fmod.Tensor, aten.fmod.Scalar)
def aten_fmod(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.sign(a) * tf.math.floormod(tf.abs(a), tf.abs(b))


# pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor
# pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor
# pow.Scalar(Scalar self, Tensor exponent) -> Tensor
@lower(aten.pow.Tensor_Scalar, aten.pow.Tensor_Tensor, aten.pow.Scalar)
def aten_pow(ctx, self, exponent):
    base, power = binary_operands(ctx, self, exponent)
    if not is_tensor(exponent):
        if exponent == 1:
            return base
        if exponent == 2:
            return tf.square(base)
        if exponent == 0.5:
            return tf.sqrt(base)
        if exponent == -0.5:
            return tf.math.rsqrt(base)
        if exponent == -1 and base.dtype.is_floating:
            return tf.math.reciprocal(base)
    return tf.pow(base, power)


# maximum(Tensor self, Tensor other) -> Tensor
@lower(aten.maximum.default)
def aten_maximum(ctx, self, other):
    return tf.maximum(*binary_operands(ctx, self, other))


# minimum(Tensor self, Tensor other) -> Tensor
@lower(aten.minimum.default)
def aten_minimum(ctx, self, other):
    return tf.minimum(*binary_operands(ctx, self, other))


# fmax(Tensor self, Tensor other) -> Tensor   (a NaN operand yields the other one)
@lower(aten.fmax.default)
def aten_fmax(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.where(tf.math.is_nan(a), b, tf.where(tf.math.is_nan(b), a, tf.maximum(a, b)))


# fmin(Tensor self, Tensor other) -> Tensor
@lower(aten.fmin.default)
def aten_fmin(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.where(tf.math.is_nan(a), b, tf.where(tf.math.is_nan(b), a, tf.minimum(a, b)))


# atan2(Tensor self, Tensor other) -> Tensor
@lower(aten.atan2.default)
def aten_atan2(ctx, self, other):
    # TFLite's ATAN2 wants both operands in the output's shape.
    a, b = binary_operands(ctx, self, other)
    if a.shape != b.shape or not a.shape.is_fully_defined():
        shape = tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b))
        a, b = tf.broadcast_to(a, shape), tf.broadcast_to(b, shape)
    return tf.atan2(a, b)


# hypot(Tensor self, Tensor other) -> Tensor
@lower(aten.hypot.default)
def aten_hypot(ctx, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.sqrt(tf.square(a) + tf.square(b))


# x <op> +inf, knowing that x > (largest float) only for x == +inf.
_VERSUS_INFINITY = {
    tf.equal: lambda x, big: tf.greater(x, big),
    tf.not_equal: lambda x, big: tf.logical_or(tf.less_equal(x, big), tf.not_equal(x, x)),
    tf.less: lambda x, big: tf.less_equal(x, big),
    tf.less_equal: lambda x, big: tf.equal(x, x),  # all but NaN
    tf.greater: lambda x, big: tf.zeros_like(x, tf.bool),
    tf.greater_equal: lambda x, big: tf.greater(x, big),
}
# x <op> -inf is (-x) <mirrored op> +inf.
_MIRRORED = {
    tf.equal: tf.equal, tf.not_equal: tf.not_equal, tf.less: tf.greater,
    tf.less_equal: tf.greater_equal, tf.greater: tf.less, tf.greater_equal: tf.less_equal,
}


def _comparison(tf_op):
    # eq.Tensor(Tensor self, Tensor other) -> Tensor   (bool); likewise ne/lt/le/gt/ge
    # eq.Scalar(Tensor self, Scalar other) -> Tensor
    def lowering(ctx, self, other):
        dtype = promoted_dtype(self, other)
        x = as_tensor(self, dtype)
        if isinstance(other, float) and math.isinf(other):
            # TF's converter stores an infinite constant as the largest finite float,
            # so a literal comparison with it would miss the infinities.
            if other > 0:
                return _VERSUS_INFINITY[tf_op](x, dtype.max)
            return _VERSUS_INFINITY[_MIRRORED[tf_op]](-x, dtype.max)
        return tf_op(x, as_tensor(other, dtype))

    return lowering


for _op, _tf_op in [
    (aten.eq, tf.equal), (aten.ne, tf.not_equal), (aten.lt, tf.less),
    (aten.le, tf.less_equal), (aten.gt, tf.greater), (aten.ge, tf.greater_equal),
]:
    lower(_op.Tensor, _op.Scalar)(_comparison(_tf_op))


def _logical(tf_op):
    # logical_and(Tensor self, Tensor other) -> Tensor   (bool); likewise or/xor
    def lowering(ctx, self, other):
        return tf_op(as_tensor(self, tf.bool), as_tensor(other, tf.bool))

    return lowering


for _op, _tf_op in [
    (aten.logical_and, tf.logical_and), (aten.logical_or, tf.logical_or),
    (aten.logical_xor, tf.math.logical_xor),
]:
    lower(_op.default)(_logical(_tf_op))


# logical_not(Tensor self) -> Tensor
@lower(aten.logical_not.default)
def aten_logical_not(ctx, self):
    return tf.logical_not(as_tensor(self, tf.bool))


def _bitwise(logical_op, integer_op):
    # bitwise_and.Tensor(Tensor self, Tensor other) -> Tensor; likewise or/xor, and .Scalar
    def lowering(ctx, self, other):
        a, b = binary_operands(ctx, self, other)
        if a.dtype == tf.bool:
            return logical_op(a, b)
        if integer_op is None:
            raise NotImplementedError(
                f"{ctx.node.target} on integer tensors has no TFLite built-in"
            )
        return integer_op(a, b)

    return lowering


for _op, _logical_op, _integer_op in [
    (aten.bitwise_and, tf.logical_and, None),
    (aten.bitwise_or, tf.logical_or, None),
    (aten.bitwise_xor, tf.math.logical_xor, tf.bitwise.bitwise_xor),
]:
    lower(_op.Tensor, _op.Scalar)(_bitwise(_logical_op, _integer_op))


# bitwise_not(Tensor self) -> Tensor
@lower(aten.bitwise_not.default)
def aten_bitwise_not(ctx, self):
    # Two's complement: ~x == -x - 1 (TFLite has no integer INVERT).
    return tf.logical_not(self) if self.dtype == tf.bool else -self - 1


# bitwise_right_shift.Tensor_Scalar(Tensor self, Scalar other) -> Tensor
# __rshift__.Scalar(Tensor self, Scalar other) -> Tensor
@lower(aten.bitwise_right_shift, aten.__rshift__)
def aten_bitwise_right_shift(ctx, self, other):
    return tf.bitwise.right_shift(*binary_operands(ctx, self, other))


# bitwise_left_shift.Tensor_Scalar(Tensor self, Scalar other) -> Tensor
# __lshift__.Scalar(Tensor self, Scalar other) -> Tensor
@lower(aten.bitwise_left_shift, aten.__lshift__)
def aten_bitwise_left_shift(ctx, self, other):
    # x << n == x * 2**n (TFLite has no LEFT_SHIFT).
    a, b = binary_operands(ctx, self, other)
    return a * tf.pow(tf.constant(2, a.dtype), b)


def _atan(x):
    return tf.atan2(x, tf.ones_like(x))


def _asin(x):
    return tf.atan2(x, tf.sqrt((1.0 - x) * (1.0 + x)))


def _acos(x):
    return tf.atan2(tf.sqrt((1.0 - x) * (1.0 + x)), x)


def _sinh(x):
    return (tf.exp(x) - tf.exp(-x)) * 0.5


def _cosh(x):
    return (tf.exp(x) + tf.exp(-x)) * 0.5


def _asinh(x):
    magnitude = tf.abs(x)
    return tf.sign(x) * tf.math.log(magnitude + tf.sqrt(tf.square(magnitude) + 1.0))


def _acosh(x):
    return tf.math.log(x + tf.sqrt((x - 1.0) * (x + 1.0)))


def _atanh(x):
    return 0.5 * (tf.math.log1p(x) - tf.math.log1p(-x))


# Abramowitz & Stegun 7.1.26: |error| <= 1.5e-7 over the whole real line.
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _erf(x):
    magnitude = tf.abs(x)
    t = 1.0 / (1.0 + _ERF_P * magnitude)
    poly = 0.0
    for coefficient in reversed(_ERF_A):
        poly = (poly + coefficient) * t
    return tf.sign(x) * (1.0 - poly * tf.exp(-tf.square(magnitude)))


def _unary(tf_op):
    # op(Tensor self) -> Tensor, computed in the output dtype (int → float for exp, sin, ...)
    def lowering(ctx, self):
        return tf_op(as_tensor(self, out_tf_dtype(ctx)))

    return lowering


for _op, _tf_op in [
    (aten.neg, tf.negative), (aten.abs, tf.abs), (aten.sign, tf.sign),
    (aten.exp, tf.exp), (aten.exp2, lambda x: tf.exp(x * math.log(2.0))),
    (aten.expm1, tf.math.expm1), (aten.log, tf.math.log), (aten.log1p, tf.math.log1p),
    (aten.log2, lambda x: tf.math.log(x) * (1.0 / math.log(2.0))),
    (aten.log10, lambda x: tf.math.log(x) * (1.0 / math.log(10.0))),
    (aten.sqrt, tf.sqrt), (aten.rsqrt, tf.math.rsqrt), (aten.reciprocal, tf.math.reciprocal),
    (aten.sin, tf.sin), (aten.cos, tf.cos), (aten.tan, lambda x: tf.sin(x) / tf.cos(x)),
    (aten.asin, _asin), (aten.acos, _acos), (aten.atan, _atan),
    (aten.sinh, _sinh), (aten.cosh, _cosh), (aten.tanh, tf.tanh),
    (aten.asinh, _asinh), (aten.acosh, _acosh), (aten.atanh, _atanh),
    (aten.erf, _erf), (aten.erfc, lambda x: 1.0 - _erf(x)),
    (aten.sigmoid, tf.sigmoid), (aten.relu, tf.nn.relu), (aten.relu6, tf.nn.relu6),
]:
    lower(_op.default)(_unary(_tf_op))


def _rounding(tf_op):
    # floor(Tensor self) -> Tensor; likewise ceil/round/trunc (identity on integers)
    def lowering(ctx, self):
        return self if self.dtype.is_integer else tf_op(self)

    return lowering


for _op, _tf_op in [
    (aten.floor, tf.floor), (aten.ceil, tf.math.ceil), (aten.round, tf.round),
    (aten.trunc, _trunc),
]:
    lower(_op.default)(_rounding(_tf_op))


# round.decimals(Tensor self, *, int decimals) -> Tensor
@lower(aten.round.decimals)
def aten_round_decimals(ctx, self, *, decimals):
    if decimals >= 0:
        scale = 10.0**decimals
        return tf.round(self * scale) / scale
    scale = 10.0**-decimals
    return tf.round(self / scale) * scale


# isnan(Tensor self) -> Tensor
@lower(aten.isnan.default)
def aten_isnan(ctx, self):
    return tf.not_equal(self, self)


# isinf(Tensor self) -> Tensor
@lower(aten.isinf.default)
def aten_isinf(ctx, self):
    # Not `== inf`: TF's converter stores an infinite constant as the largest float.
    return tf.greater(tf.abs(self), self.dtype.max)


# where.self(Tensor condition, Tensor self, Tensor other) -> Tensor
@lower(aten.where.self)
def aten_where(ctx, condition, self, other):
    a, b = binary_operands(ctx, self, other)
    return tf.where(as_tensor(condition, tf.bool), a, b)


# clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor
# clamp.Tensor(Tensor self, Tensor? min=None, Tensor? max=None) -> Tensor
@lower(aten.clamp.default, aten.clamp.Tensor)
def aten_clamp(ctx, self, min=None, max=None):
    dtype = out_tf_dtype(ctx)
    x = as_tensor(self, dtype)
    scalar_bounds = not is_tensor(min) and not is_tensor(max)
    if scalar_bounds and (min, max) == (0, 6) and dtype.is_floating:
        return tf.nn.relu6(x)
    if min is not None:
        x = tf.maximum(x, as_tensor(min, dtype))
    if max is not None:
        x = tf.minimum(x, as_tensor(max, dtype))
    return x


# clamp_min(Tensor self, Scalar min) -> Tensor
@lower(aten.clamp_min.default)
def aten_clamp_min(ctx, self, min):
    return aten_clamp(ctx, self, min=min)


# clamp_max(Tensor self, Scalar max) -> Tensor
@lower(aten.clamp_max.default)
def aten_clamp_max(ctx, self, max):
    return aten_clamp(ctx, self, max=max)


# hardtanh(Tensor self, Scalar min_val=-1, Scalar max_val=1) -> Tensor
@lower(aten.hardtanh.default)
def aten_hardtanh(ctx, self, min_val=-1.0, max_val=1.0):
    return aten_clamp(ctx, self, min=min_val, max=max_val)


# copy(Tensor self, Tensor src, bool non_blocking=False) -> Tensor
@lower(aten.copy.default)
def aten_copy(ctx, self, src, non_blocking=False):
    # The functional form of `self.copy_(src)`: src, broadcast to self's shape and dtype.
    src = as_tensor(src, self.dtype)
    if src.shape == self.shape and self.shape.is_fully_defined():
        return src
    return tf.broadcast_to(src, tf.shape(self))
