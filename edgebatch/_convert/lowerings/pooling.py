"""Pooling (max/avg 2-D and 3-D, adaptive avg/max), channels-last.

`edgebatch::*_pool_cl` ops (from the layout pass) are lowered directly; the ATen ops
(where the pass left a pool in torch's layout) wrap the same code in transposes.
torch's padding is matched by SAME where it equals it (TF's SAME max/avg pools ignore
the padded cells, as torch's max pool and `count_include_pad=False` do), otherwise by
one PAD first.
3-D pools run as two 2-D pools (H×W, then D): TFLite has no built-in 3-D pooling.
A max pool whose indices are read stays in torch's layout and compares its window cells
itself (TFLite has no built-in pooling with argmax); adaptive 3-D average pooling is
per-axis means.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir import nhwc_ops
from edgebatch._convert.lowerings._util import nchw_to_nhwc, nhwc_to_nchw, tf_rank
from edgebatch._convert.lowerings.convolution import pad_spatial, same_pads
from edgebatch._convert.lowerings.registry import lower
from edgebatch._convert.lowerings.shape import slice_along

tf = tensorflow()
aten = torch.ops.aten

# ops whose output is never negative: a max pool after them may pad with 0 (PAD) instead
# of -inf (PADV2), since every window holds at least one real value >= 0
_NONNEGATIVE = {aten.relu.default, aten.relu6.default, aten.sigmoid.default,
                aten.hardsigmoid.default}


_PASS_THROUGH = {aten.permute.default, aten.reshape.default, aten.view.default,
                 aten.squeeze.dims, aten.unsqueeze.default}


def _nonnegative(node) -> bool:
    while isinstance(node, torch.fx.Node) and node.op == "call_function" \
            and node.target in _PASS_THROUGH:
        node = node.args[0]
    if not isinstance(node, torch.fx.Node) or node.op != "call_function":
        return False
    if node.target in _NONNEGATIVE:
        return True
    if node.target in (aten.hardtanh.default, aten.clamp.default):
        low = node.args[1] if len(node.args) > 1 else node.kwargs.get("min", node.kwargs.get("min_val"))
        return isinstance(low, (int, float)) and low >= 0
    return False


def _expand(values, n):
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    return values * n if len(values) == 1 else values


def pool_geometry(sizes, kernel, stride, padding, ceil_mode):
    """Per spatial dim: (before, after) padding torch reads, and the output size."""
    pairs, outs = [], []
    for size, k, s, p in zip(sizes, kernel, stride, padding):
        if not isinstance(size, int):
            if ceil_mode:
                raise NotImplementedError("ceil_mode pooling over a symbolic size")
            pairs.append((p, p))
            outs.append(None)
            continue
        span = size + 2 * p - k
        out = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (out - 1) * s >= size + p:  # the last window must start inside
            out -= 1
        pairs.append((p, max(0, (out - 1) * s + k - size - p)))
        outs.append(out)
    return pairs, outs


def _is_same(sizes, kernel, stride, pairs) -> bool:
    return all(same_pads(sz, k, s) == pr for sz, k, s, pr in zip(sizes, kernel, stride, pairs))


def _pool2d(x, kind, kernel, stride, mode):
    pool = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
    return pool(x, kernel, stride, mode)


def _pool_nd(x, kind, kernel, stride, mode):
    """2-D pool, or a 3-D pool as H×W then D (exact for max, and for avg over full windows)."""
    if len(kernel) == 2:
        return _pool2d(x, kind, kernel, stride, mode)
    shape = tf.shape(x)
    n, d, h, w, c = [x.shape[i] if x.shape[i] is not None else shape[i] for i in range(5)]
    y = tf.reshape(x, [-1, h, w, c])
    y = _pool2d(y, kind, kernel[1:], stride[1:], mode)
    h2, w2 = y.shape[1], y.shape[2]
    y = tf.reshape(y, [-1, d, h2 * w2, c])
    y = _pool2d(y, kind, [kernel[0], 1], [stride[0], 1], mode)
    return tf.reshape(y, [-1, y.shape[1], h2, w2, c])


def max_pool_channels_last(x, kernel, stride, padding, dilation, ceil_mode, nonnegative=False):
    n = tf_rank(x) - 2
    kernel, padding = _expand(kernel, n), _expand(padding, n)
    stride = _expand(stride, n) if stride else kernel
    if any(d != 1 for d in _expand(dilation, n)):
        raise NotImplementedError("dilated max pooling")
    sizes = x.shape.as_list()[1:-1]
    pairs, _ = pool_geometry(sizes, kernel, stride, padding, ceil_mode)
    if all(p == (0, 0) for p in pairs):
        return _pool_nd(x, "max", kernel, stride, "VALID")
    if _is_same(sizes, kernel, stride, pairs):
        return _pool_nd(x, "max", kernel, stride, "SAME")
    fill = 0.0 if nonnegative else float("-inf")
    return _pool_nd(pad_spatial(x, pairs, fill), "max", kernel, stride, "VALID")


def avg_pool_channels_last(x, kernel, stride, padding, ceil_mode, count_include_pad,
                           divisor_override):
    n = tf_rank(x) - 2
    kernel, padding = _expand(kernel, n), _expand(padding, n)
    stride = _expand(stride, n) if stride else kernel
    sizes = x.shape.as_list()[1:-1]
    pairs, _ = pool_geometry(sizes, kernel, stride, padding, ceil_mode)
    window = float(math.prod(kernel))
    if all(p == (0, 0) for p in pairs):
        y = _pool_nd(x, "avg", kernel, stride, "VALID")
        return y * (window / divisor_override) if divisor_override else y
    within = all(a <= p for (_, a), p in zip(pairs, padding))  # no window beyond the padding
    if divisor_override is None and not count_include_pad and _is_same(sizes, kernel, stride, pairs):
        return _pool_nd(x, "avg", kernel, stride, "SAME")
    if divisor_override is None and count_include_pad and within:
        return _pool_nd(pad_spatial(x, pairs), "avg", kernel, stride, "VALID")
    if n != 2:
        raise NotImplementedError("3-D average pooling with this padding")
    # sum over the padded input divided by the count torch uses
    total = _pool_nd(pad_spatial(x, pairs), "avg", kernel, stride, "VALID") * window
    if divisor_override:
        return total / float(divisor_override)
    ones = tf.ones([1, *sizes, 1], x.dtype)
    if count_include_pad:  # explicit padding counts, the extra ceil_mode cells do not
        ones = pad_spatial(ones, [(p, p) for p in padding], 1.0)
        ones = pad_spatial(ones, [(0, max(a - p, 0)) for (_, a), p in zip(pairs, padding)])
    else:
        ones = pad_spatial(ones, pairs)
    count = _pool_nd(ones, "avg", kernel, stride, "VALID") * window
    return total / count


def _adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_pool_channels_last(x, output_size, kind):
    """Adaptive pooling as two separable passes (rows, then columns)."""
    out_h, out_w = _expand(output_size, 2)
    h, w = x.shape[1], x.shape[2]
    if h % out_h == 0 and w % out_w == 0:
        kernel = [h // out_h, w // out_w]
        return _pool2d(x, kind, kernel, kernel, "VALID")
    reduce = tf.reduce_mean if kind == "avg" else tf.reduce_max
    y = x
    for axis, size, out in ((1, h, out_h), (2, w, out_w)):
        if size == out:
            continue
        parts = []
        for a, b in _adaptive_bins(size, out):
            begin = [0, 0, 0, 0]
            extent = [-1, -1, -1, -1]
            begin[axis], extent[axis] = a, b - a
            parts.append(reduce(tf.slice(y, begin, extent), axis=axis, keepdims=True))
        y = tf.concat(parts, axis=axis)
    return y


# --- edgebatch::*_cl ----------------------------------------------------------------------

# max_pool_cl(Tensor x, int[] kernel, int[] stride, int[] padding, int[] dilation, bool ceil_mode)
@lower(nhwc_ops.max_pool_cl)
def edgebatch_max_pool_cl(ctx, x, kernel, stride, padding, dilation, ceil_mode):
    return max_pool_channels_last(x, kernel, stride, padding, dilation, ceil_mode,
                                  _nonnegative(ctx.node.args[0]))


# avg_pool_cl(Tensor x, int[] kernel, int[] stride, int[] padding, bool ceil_mode,
#             bool count_include_pad, int? divisor_override)
@lower(nhwc_ops.avg_pool_cl)
def edgebatch_avg_pool_cl(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad,
                          divisor_override):
    return avg_pool_channels_last(x, kernel, stride, padding, ceil_mode, count_include_pad,
                                  divisor_override)


# adaptive_avg_pool_cl(Tensor x, int[] output_size) -> Tensor
@lower(nhwc_ops.adaptive_avg_pool_cl)
def edgebatch_adaptive_avg_pool_cl(ctx, x, output_size):
    return adaptive_pool_channels_last(x, output_size, "avg")


# adaptive_max_pool_cl(Tensor x, int[] output_size) -> Tensor
@lower(nhwc_ops.adaptive_max_pool_cl)
def edgebatch_adaptive_max_pool_cl(ctx, x, output_size):
    return adaptive_pool_channels_last(x, output_size, "max")


# --- ATen (channels-first) -------------------------------------------------------------------

def _batched(x, spatial: int, fn):
    """fn on x with a batch dim: torch's pools also take unbatched (C, *spatial) input.
    fn may return a tuple of tensors."""
    if tf_rank(x) == spatial + 2:
        return fn(x)
    result = fn(tf.expand_dims(x, 0))
    if isinstance(result, tuple):
        return tuple(tf.squeeze(r, [0]) for r in result)
    return tf.squeeze(result, [0])


def _window_indices(sizes, out_sizes, kernel, stride, padding, dilation):
    """([*out_sizes, K], [K, n]): per output cell, the flat input index (torch's convention)
    of each of its K window cells; and each window cell's offset in the kernel."""
    n = len(sizes)
    offsets = np.stack(np.meshgrid(*[np.arange(k) for k in kernel], indexing="ij"), -1)
    offsets = offsets.reshape(-1, n)  # K window cells in row-major order, as torch scans them
    grids = np.meshgrid(*[np.arange(o) for o in out_sizes], indexing="ij")
    flat = np.zeros([*out_sizes, len(offsets)], np.int64)
    for axis in range(n):
        position = (grids[axis][..., None] * stride[axis]
                    + offsets[:, axis] * dilation[axis] - padding[axis])
        flat = flat * sizes[axis] + position
    return flat.astype(np.int32), offsets


def max_pool_with_indices(x, kernel, stride, padding, dilation, out_sizes):
    """Max pooling of x (N, C, *spatial) with torch's indices: the flat position of each
    window's first maximum within its (n, c) plane, as int32."""
    sizes = x.shape.as_list()[2:]
    if not all(isinstance(d, int) for d in [*sizes, *out_sizes]):
        raise NotImplementedError("max pooling's indices over a symbolic spatial size")
    flat, offsets = _window_indices(sizes, out_sizes, kernel, stride, padding, dilation)
    reach = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out_sizes, stride, kernel, dilation)]
    pads = [[0, 0], [0, 0]] + [[p, max(0, r - size - p)] for p, r, size in zip(padding, reach, sizes)]
    padded = tf.pad(x, pads, constant_values=float("-inf"))
    windows = []
    for offset in offsets:
        begin = [0, 0] + [int(o * d) for o, d in zip(offset, dilation)]
        end = [0, 0] + [b + (o - 1) * s + 1 for b, o, s in zip(begin[2:], out_sizes, stride)]
        windows.append(tf.strided_slice(padded, begin, end, [1, 1, *stride],
                                        begin_mask=3, end_mask=3))
    windows = tf.stack(windows, axis=-1)
    values = tf.reduce_max(windows, axis=-1)
    first_max = tf.argmax(windows, axis=-1, output_type=tf.int32)
    picked = tf.one_hot(first_max, len(offsets), dtype=tf.int32) * flat
    return values, tf.reduce_sum(picked, axis=-1)


# max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0,
#                         int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)
@lower(aten.max_pool2d_with_indices, aten.max_pool3d_with_indices)
def aten_max_pool_with_indices(ctx, self, kernel_size, stride=(), padding=(0,), dilation=(1,),
                               ceil_mode=False):
    n = 3 if ctx.node.target.overloadpacket is aten.max_pool3d_with_indices else 2
    if 1 in ctx.used_outputs:
        kernel = _expand(kernel_size, n)
        geometry = (kernel, _expand(stride, n) if stride else kernel, _expand(padding, n),
                    _expand(dilation, n), ctx.out_shape(0)[-n:])
        return _batched(self, n, lambda x: max_pool_with_indices(x, *geometry))
    nonnegative = _nonnegative(ctx.node.args[0])
    return _batched(self, n, lambda x: nhwc_to_nchw(max_pool_channels_last(
        nchw_to_nhwc(x), kernel_size, stride, padding, dilation, ceil_mode, nonnegative))), None


# avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0,
#            bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None)
@lower(aten.avg_pool2d, aten.avg_pool3d)
def aten_avg_pool(ctx, self, kernel_size, stride=(), padding=(0,), ceil_mode=False,
                  count_include_pad=True, divisor_override=None):
    n = 3 if ctx.node.target.overloadpacket is aten.avg_pool3d else 2
    return _batched(self, n, lambda x: nhwc_to_nchw(avg_pool_channels_last(
        nchw_to_nhwc(x), kernel_size, stride, padding, ceil_mode, count_include_pad,
        divisor_override)))


# _adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor
@lower(aten._adaptive_avg_pool2d, aten.adaptive_avg_pool2d)
def aten_adaptive_avg_pool2d(ctx, self, output_size):
    if list(_expand(output_size, 2)) == [1, 1]:
        return tf.reduce_mean(self, axis=[tf_rank(self) - 2, tf_rank(self) - 1], keepdims=True)
    return nhwc_to_nchw(adaptive_pool_channels_last(nchw_to_nhwc(self), output_size, "avg"))


# adaptive_max_pool2d(Tensor self, int[2] output_size) -> (Tensor, Tensor)
@lower(aten.adaptive_max_pool2d)
def aten_adaptive_max_pool2d(ctx, self, output_size):
    if 1 in ctx.used_outputs:
        raise NotImplementedError("adaptive max pooling's indices output")
    return nhwc_to_nchw(adaptive_pool_channels_last(nchw_to_nhwc(self), output_size, "max")), None


# _adaptive_avg_pool3d(Tensor self, SymInt[3] output_size) -> Tensor
@lower(aten._adaptive_avg_pool3d)
def aten_adaptive_avg_pool3d(ctx, self, output_size):
    # Bins are boxes, so the mean over a box is the mean of per-axis means: one axis at a
    # time, one slice and mean per bin (the layout pass leaves 3-D pools in torch's layout).
    y = self
    for axis, out in zip(range(tf_rank(self) - 3, tf_rank(self)), _expand(output_size, 3)):
        size = y.shape[axis]
        if size == out:
            continue
        if out == 1:
            y = tf.reduce_mean(y, axis=axis, keepdims=True)
            continue
        y = tf.concat([tf.reduce_mean(slice_along(y, axis, a, b), axis=axis, keepdims=True)
                       for a, b in _adaptive_bins(size, out)], axis=axis)
    return y
