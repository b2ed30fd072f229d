"""PT2E quantize / dequantize ops → TensorFlow fake-quant ops that TF's converter turns
into real int8 kernels.

`convert_pt2e` leaves `quantize → dequantize` pairs in the graph (quantized_decomposed or
torchao namespace). In float arithmetic such a pair is a fake quantization, and that is
exactly what TF's `FakeQuantWithMinMax{Args,VarsPerChannel}` ops express:

- a `quantize` whose users are all `dequantize`s becomes one fake-quant op with the
  PT2E scale / zero point written as TF's [min, max] range (exact: TF's nudging recovers
  the same scale and zero point). The `dequantize` after it is then the identity.
- a `dequantize` of a real integer tensor (a weight folded by `convert_pt2e(...,
  fold_quantize=True)`) computes the float weight at trace time (TF's converter will not
  constant-fold a cast/mul chain on big tensors) and fake-quantizes it with its own params.
- quantize/dequantize pairs split by the layout pass's permutes are seen through.
- dynamic quantization (`choose_qparams` → quantize/dequantize with tensor-valued params)
  is the identity here: TFLite's hybrid kernels quantize activations at run time. The
  weights of such ops stay float in the TF graph; TF's dynamic-range quantization stores
  them as int8 with max|w|/127 per channel, which is PT2E's symmetric scale, so the int8
  values are PT2E's.

The converter flags that make TF's converter honour these ops (`optimizations=[DEFAULT]`,
plus `_experimental_qdq_conversion_mode="STATIC"` for static graphs) come from
`edgebatch.quantize.quant_config.QuantConfig`. Per-channel fake quant in TF works on the
last axis; the channel axis is moved there and back, and TF's converter folds those
transposes into the weight constant (no TRANSPOSE/DEQUANTIZE on weights remains).
"""

from __future__ import annotations

import operator
import sys

import numpy as np
import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import is_weight
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()

import torch.ao.quantization.fx._decomposed  # noqa: E402,F401  registers quantized_decomposed

qd = torch.ops.quantized_decomposed

# torchao's own namespace (quantize_affine & co.), when torchao is loaded. Note: these are
# CompositeImplicit ops, so torch.export decomposes them into round/clamp arithmetic
# (float kernels) before they reach this registry; only graphs that keep them whole use
# these lowerings. The standard PT2E flow emits quantized_decomposed ops, which survive.
# (Importing torchao here would add ~0.7 s to every conversion process.)
_AO_QUANTIZE, _AO_DEQUANTIZE, _AO_CHOOSE = [], [], []
if "torchao" in sys.modules:
    try:
        import torchao.quantization.quant_primitives  # noqa: F401

        _ao = torch.ops.torchao
        _AO_QUANTIZE = [_ao.quantize_affine.default]
        _AO_DEQUANTIZE = [_ao.dequantize_affine.default]
        _AO_CHOOSE = [_ao.choose_qparams_affine.default]
    except (ImportError, AttributeError):  # pragma: no cover
        pass

QUANTIZE_OPS = frozenset([
    qd.quantize_per_tensor.default,
    qd.quantize_per_tensor.tensor,
    qd.quantize_per_tensor.tensor2,
    qd.quantize_per_channel.default,
    *_AO_QUANTIZE,
])
DEQUANTIZE_OPS = frozenset([
    qd.dequantize_per_tensor.default,
    qd.dequantize_per_tensor.tensor,
    qd.dequantize_per_tensor.tensor2,
    qd.dequantize_per_channel.default,
    *_AO_DEQUANTIZE,
])
CHOOSE_QPARAMS_OPS = frozenset([
    qd.choose_qparams.tensor,
    qd.choose_qparams_symmetric.tensor,
    *_AO_CHOOSE,
])

_DTYPE_RANGE = {
    torch.int8: (-128, 127),
    torch.uint8: (0, 255),
    torch.int16: (-32768, 32767),
    torch.int32: (-(2**31), 2**31 - 1),
}


def static_value(value):
    """The numpy value of a PT2E quantization parameter, or None if it is computed at run
    time (dynamic quantization)."""
    if value is None:
        return None
    if isinstance(value, (bool, int, float, np.ndarray, np.number)):
        return np.asarray(value)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if isinstance(value, tf.Variable):
        with tf.init_scope():  # variables hold weights and PT2E buffers; read them eagerly
            return value.numpy()
    if isinstance(value, tf.Tensor):
        return tf.get_static_value(value)
    return None


def _bits(quant_min: int, quant_max: int) -> tuple[int, bool]:
    """(num_bits, narrow_range) of TF's fake quant for an integer range."""
    span = int(quant_max) - int(quant_min)
    for bits in range(2, 17):
        if span == 2**bits - 1:
            return bits, False
        if span == 2**bits - 2:
            return bits, True
    raise ValueError(
        f"quantization range [{quant_min}, {quant_max}] is not a 2..16-bit range; "
        "TFLite kernels need 8-bit ranges like [-128, 127] or [-127, 127]"
    )


def channel_last_perm(rank: int, axis: int) -> list[int]:
    """A permutation that moves `axis` last. For 4-D OIHW weights (axis 0) it is
    torch→TF's [2, 3, 1, 0], the layout convolution lowerings transpose to, so the two
    transposes around the fake quant cancel inside TF's converter."""
    if rank == 4 and axis == 0:
        return [2, 3, 1, 0]
    return [d for d in range(rank) if d != axis] + [axis]


def fake_quant(x, scale, zero_point, quant_min: int, quant_max: int, axis: int | None = None):
    """TF fake quantization equal to PT2E's quantize→dequantize with these parameters."""
    bits, narrow = _bits(quant_min, quant_max)
    scale = np.asarray(scale, np.float64).reshape(-1)
    zero_point = np.asarray(zero_point if zero_point is not None else 0, np.float64).reshape(-1)
    lo = (quant_min - zero_point) * scale
    hi = (quant_max - zero_point) * scale
    if x.dtype != tf.float32:
        x = tf.cast(x, tf.float32)
    per_channel = axis is not None and scale.size > 1
    if not per_channel:
        return tf.quantization.fake_quant_with_min_max_args(
            x, min=float(lo[0]), max=float(hi[0]), num_bits=bits, narrow_range=narrow
        )
    rank = x.shape.rank
    axis = axis + rank if axis < 0 else axis
    channels = x.shape[axis]
    if channels is not None and channels != scale.size:
        lo, hi = np.broadcast_to(lo, [channels]), np.broadcast_to(hi, [channels])
    perm = channel_last_perm(rank, axis)
    moved = tf.transpose(x, perm) if perm != list(range(rank)) else x
    y = tf.quantization.fake_quant_with_min_max_vars_per_channel(
        moved, tf.constant(lo, tf.float32), tf.constant(hi, tf.float32),
        num_bits=bits, narrow_range=narrow,
    )
    return tf.transpose(y, np.argsort(perm).tolist()) if perm != list(range(rank)) else y


def _broadcast(values: np.ndarray, rank: int, axis: int | None):
    values = np.asarray(values, np.float32).reshape(-1)
    if axis is None or values.size == 1:
        return tf.constant(values.reshape(()) if values.size == 1 else values)
    shape = [1] * rank
    shape[axis] = values.size
    return tf.constant(values.reshape(shape))


def _users_all_dequantize(ctx) -> bool:
    """Every use of this quantize is a dequantize (possibly behind layout permutes)."""

    def ok(node, depth=0) -> bool:
        users = list(node.users)
        if not users or depth > 4:
            return False
        for u in users:
            if u.op != "call_function":
                return False
            if u.target in _MOVES:
                if not ok(u, depth + 1):
                    return False
            elif u.target not in DEQUANTIZE_OPS:
                return False
        return True

    return ok(ctx.node)


_MOVES = frozenset([
    torch.ops.aten.permute.default, torch.ops.aten.view.default, torch.ops.aten.reshape.default,
    torch.ops.aten._unsafe_view.default, torch.ops.aten.unsqueeze.default,
    torch.ops.aten.squeeze.dims, torch.ops.aten.clone.default,
])


def _is_dynamic_dequantize(node) -> bool:
    """A dequantize whose parameters are computed at run time (choose_qparams), possibly
    behind layout permutes / reshapes the passes inserted."""
    for _ in range(4):
        if node.op == "call_function" and node.target in _MOVES and isinstance(
            node.args[0], torch.fx.Node
        ):
            node = node.args[0]
    if node.op != "call_function" or node.target not in DEQUANTIZE_OPS:
        return False
    scale = node.args[1] if len(node.args) > 1 else None
    if not isinstance(scale, torch.fx.Node):
        return False
    return scale.op == "call_function" and (
        scale.target in CHOOSE_QPARAMS_OPS
        or (scale.target is operator.getitem and scale.args[0].target in CHOOSE_QPARAMS_OPS)
    )


def weight_feeds_dynamic_ops(node) -> bool:
    """True if `node` (a weight's quantize or dequantize) only feeds ops whose activation
    input is dynamically quantized: the weight belongs to a hybrid kernel."""
    dequantizes = [node] if node.target in DEQUANTIZE_OPS else list(node.users)
    consumers = [u for dq in dequantizes for u in dq.users]
    if not consumers:
        return False
    for op in consumers:
        others = [a for a in op.args if isinstance(a, torch.fx.Node) and a not in dequantizes]
        if not any(_is_dynamic_dequantize(a) for a in others):
            return False
    return True


def _from_quantize(ctx) -> bool:
    """The input is a quantize's output (possibly behind layout permutes), which the
    quantize lowering already turned into a fake-quantized float tensor."""
    src = ctx.node.args[0]
    for _ in range(5):
        if not isinstance(src, torch.fx.Node) or src.op != "call_function":
            return False
        if src.target in QUANTIZE_OPS:
            return True
        if src.target not in _MOVES:
            return False
        src = src.args[0]
    return False


def _range(dtype, quant_min, quant_max):
    lo, hi = _DTYPE_RANGE.get(dtype, (-128, 127))
    qmin = static_value(quant_min)
    qmax = static_value(quant_max)
    return int(lo if qmin is None else qmin), int(hi if qmax is None else qmax)


def _quantize(ctx, x, scale, zero_point, quant_min, quant_max, dtype, axis=None):
    qmin, qmax = _range(dtype, quant_min, quant_max)
    s, z = static_value(scale), static_value(zero_point)
    if zero_point is None:
        z = np.zeros(1)
    if _users_all_dequantize(ctx):
        if s is None or z is None:
            return x  # dynamic: TFLite's hybrid kernels quantize activations themselves
        if weight_feeds_dynamic_ops(ctx.node):
            # The weight of a hybrid kernel: TF's dynamic-range quantization stores it as
            # int8 with scale max|w|/127 per channel, PT2E's own symmetric scale.
            return x
        return fake_quant(x, s, z, qmin, qmax, axis)
    # The integer tensor itself is used (e.g. returned): compute it.
    rank = x.shape.rank
    s_t = _broadcast(s, rank, axis) if s is not None else tf.cast(scale, tf.float32)
    z_t = _broadcast(z, rank, axis) if z is not None else tf.cast(zero_point, tf.float32)
    q = tf.clip_by_value(tf.round(x / s_t) + z_t, qmin, qmax)
    return tf.cast(q, _tf_int(dtype))


def _dequantize(ctx, x, scale, zero_point, quant_min, quant_max, dtype, axis=None):
    if _from_quantize(ctx):
        return x  # the quantize lowering already produced the fake-quantized float value
    qmin, qmax = _range(dtype, quant_min, quant_max)
    s, z = static_value(scale), static_value(zero_point)
    if zero_point is None:
        z = np.zeros(1)
    rank = x.shape.rank
    values = static_value(x) if is_weight(x) else None
    if values is not None and s is not None and z is not None:
        # A weight folded to int8 by convert_pt2e(fold_quantize=True). TF's converter does
        # not constant-fold cast/mul chains on large tensors (they would stay as CAST+MUL
        # at run time), so the float weight is computed here and fake-quantized like an
        # unfolded one: the flatbuffer gets the same int8 weight with PT2E's parameters.
        shape = [1] * rank
        if axis is not None and np.asarray(s).size > 1:
            shape[axis] = -1
        s_np = np.asarray(s, np.float64).reshape(shape if np.asarray(s).size > 1 else [])
        z_np = np.asarray(z, np.float64).reshape(shape if np.asarray(z).size > 1 else [])
        weight = tf.constant(((values.astype(np.float64) - z_np) * s_np).astype(np.float32))
        if weight_feeds_dynamic_ops(ctx.node):
            return weight  # dynamic-range quantization re-derives the same int8 weight
        return fake_quant(weight, s, z, qmin, qmax, axis)
    s_t = _broadcast(s, rank, axis) if s is not None else tf.cast(scale, tf.float32)
    z_t = _broadcast(z, rank, axis) if z is not None else tf.cast(zero_point, tf.float32)
    y = (tf.cast(x, tf.float32) - z_t) * s_t  # an integer activation (e.g. an int8 input)
    return y if s is None or z is None else fake_quant(y, s, z, qmin, qmax, axis)


def _tf_int(dtype):
    return {torch.int8: tf.int8, torch.uint8: tf.uint8, torch.int16: tf.int16}.get(dtype, tf.int32)


# quantize_per_tensor(Tensor input, float scale, int zero_point, int quant_min, int quant_max,
#                     ScalarType dtype) -> Tensor  (also .tensor / .tensor2 with tensor params)
@lower(qd.quantize_per_tensor.default, qd.quantize_per_tensor.tensor, qd.quantize_per_tensor.tensor2)
def quantize_per_tensor(ctx, input, scale, zero_point, quant_min, quant_max, dtype):
    return _quantize(ctx, input, scale, zero_point, quant_min, quant_max, dtype)


# dequantize_per_tensor(Tensor input, float scale, int zero_point, int quant_min, int quant_max,
#                       ScalarType dtype, *, ScalarType? out_dtype=None) -> Tensor
@lower(qd.dequantize_per_tensor.default, qd.dequantize_per_tensor.tensor,
       qd.dequantize_per_tensor.tensor2)
def dequantize_per_tensor(ctx, input, scale, zero_point, quant_min, quant_max, dtype,
                          out_dtype=None):
    return _dequantize(ctx, input, scale, zero_point, quant_min, quant_max, dtype)


# quantize_per_channel(Tensor input, Tensor scales, Tensor zero_points, int axis,
#                      int quant_min, int quant_max, ScalarType dtype) -> Tensor
@lower(qd.quantize_per_channel.default)
def quantize_per_channel(ctx, input, scales, zero_points, axis, quant_min, quant_max, dtype):
    return _quantize(ctx, input, scales, zero_points, quant_min, quant_max, dtype, axis=axis)


# dequantize_per_channel(Tensor input, Tensor scales, Tensor? zero_points, int axis,
#                        int quant_min, int quant_max, ScalarType dtype, *,
#                        ScalarType? out_dtype=None) -> Tensor
@lower(qd.dequantize_per_channel.default)
def dequantize_per_channel(ctx, input, scales, zero_points, axis, quant_min, quant_max, dtype,
                           out_dtype=None):
    return _dequantize(ctx, input, scales, zero_points, quant_min, quant_max, dtype, axis=axis)


def _choose_qparams(x, quant_min, quant_max, eps, symmetric: bool):
    x = tf.cast(x, tf.float32)
    lo = tf.minimum(tf.reduce_min(x), 0.0)
    hi = tf.maximum(tf.reduce_max(x), 0.0)
    if symmetric:
        scale = tf.maximum(-lo, hi) / ((quant_max - quant_min) / 2.0)
        scale = tf.maximum(scale, eps)
        zero_point = tf.zeros([], tf.int32)
        if quant_min == 0:  # unsigned symmetric centres the zero point
            zero_point = tf.fill([], (quant_min + quant_max + 1) // 2)
    else:
        scale = tf.maximum((hi - lo) / float(quant_max - quant_min), eps)
        zero_point = tf.cast(
            tf.clip_by_value(quant_min - tf.round(lo / scale), quant_min, quant_max), tf.int32
        )
    return tf.reshape(scale, [1]), tf.reshape(zero_point, [1])


# choose_qparams.tensor(Tensor input, int quant_min, int quant_max, float eps,
#                       ScalarType dtype) -> (Tensor, Tensor)
@lower(qd.choose_qparams.tensor)
def choose_qparams(ctx, input, quant_min, quant_max, eps, dtype):
    if _only_feeds_quantize_ops(ctx):
        return _UNUSED_QPARAMS
    return _choose_qparams(input, quant_min, quant_max, float(eps), symmetric=False)


@lower(qd.choose_qparams_symmetric.tensor)
def choose_qparams_symmetric(ctx, input, quant_min, quant_max, eps, dtype):
    if _only_feeds_quantize_ops(ctx):
        return _UNUSED_QPARAMS
    return _choose_qparams(input, quant_min, quant_max, float(eps), symmetric=True)


# Dynamic quantize/dequantize pairs lower to the identity and never read their run-time
# parameters; computing them would leave dead ops that stop TF's dynamic-range pass.
_UNUSED_QPARAMS = (None, None)


def _only_feeds_quantize_ops(ctx) -> bool:
    for user in ctx.node.users:
        targets = [user] if user.target is not operator.getitem else list(user.users)
        for t in targets:
            if t.op != "call_function" or t.target not in QUANTIZE_OPS | DEQUANTIZE_OPS:
                return False
            if t.target in QUANTIZE_OPS and not all(
                u.op == "call_function" and u.target in DEQUANTIZE_OPS for u in t.users
            ):
                return False
    return True


def _affine_axis(ctx, block_size) -> int | None:
    """torchao's block_size → None (per tensor) or the single per-channel axis."""
    shape = list(ctx.arg_val(0).shape)
    block_size = [int(b) for b in block_size]
    if len(block_size) != len(shape):
        raise NotImplementedError(f"block_size {block_size} for shape {shape}")
    unit = [i for i, (b, d) in enumerate(zip(block_size, shape)) if b != d]
    if not unit:
        return None
    if len(unit) == 1 and block_size[unit[0]] == 1:
        return unit[0]
    raise NotImplementedError(
        f"blockwise quantization (block_size {block_size}) has no TFLite kernel; "
        "use per-tensor or per-channel quantization"
    )


if _AO_QUANTIZE:

    # quantize_affine(Tensor input, SymInt[] block_size, Tensor scale, Tensor? zero_point,
    #                 ScalarType output_dtype, Scalar? quant_min=None, Scalar? quant_max=None)
    @lower(*_AO_QUANTIZE)
    def quantize_affine(ctx, input, block_size, scale, zero_point, output_dtype,
                        quant_min=None, quant_max=None):
        axis = _affine_axis(ctx, block_size)
        return _quantize(ctx, input, scale, zero_point, quant_min, quant_max, output_dtype,
                         axis=axis)

    # dequantize_affine(Tensor input, SymInt[] block_size, Tensor scale, Tensor? zero_point,
    #                   ScalarType input_dtype, Scalar? quant_min=None, Scalar? quant_max=None,
    #                   ScalarType output_dtype=float32)
    @lower(*_AO_DEQUANTIZE)
    def dequantize_affine(ctx, input, block_size, scale, zero_point, input_dtype,
                          quant_min=None, quant_max=None, output_dtype=None):
        axis = _affine_axis(ctx, block_size)
        return _dequantize(ctx, input, scale, zero_point, quant_min, quant_max, input_dtype,
                           axis=axis)

    # choose_qparams_affine(Tensor? input, str mapping_type, SymInt[] block_size,
    #     ScalarType target_dtype, Scalar? quant_min=None, Scalar? quant_max=None,
    #     float? eps=None, ...) -> (Tensor, Tensor)
    @lower(*_AO_CHOOSE)
    def choose_qparams_affine(ctx, input, mapping_type, block_size, target_dtype,
                              quant_min=None, quant_max=None, eps=None, *rest, **kwargs):
        if _affine_axis(ctx, block_size) is not None:
            raise NotImplementedError("per-channel dynamic quantization parameters")
        qmin, qmax = _range(target_dtype, quant_min, quant_max)
        eps = float(eps) if eps is not None else float(np.finfo(np.float32).eps)
        return _choose_qparams(input, qmin, qmax, eps, symmetric="SYMMETRIC" in str(mapping_type))
