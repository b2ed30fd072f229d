"""Pooling: max/avg (2-D) and adaptive average pooling, NHWC inside."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import nchw_to_nhwc, nhwc_to_nchw, rank
from edgebatch._convert.lowerings.convolution import same_padding
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def _pool_padding(x_nhwc, kernel, stride, padding, ceil_mode, pad_value):
    """Pad x so that a VALID pool gives torch's output size; returns (x, 'VALID'|'SAME')."""
    spatial = [x_nhwc.shape[1], x_nhwc.shape[2]]
    if not ceil_mode and all(p == 0 for p in padding):
        return x_nhwc, "VALID"
    pads = []
    for size, k, s, p in zip(spatial, kernel, stride, padding):
        before, after = p, p
        if ceil_mode:
            out = -(-(size + 2 * p - k) // s) + 1
            if (out - 1) * s >= size + p:  # torch: the last window must start inside the input
                out -= 1
            after = max((out - 1) * s + k - size - p, 0)
        pads.append((before, after))
    if not ceil_mode and all(same_padding(sz, k, s, 1) == pd
                             for sz, k, s, pd in zip(spatial, kernel, stride, pads)):
        return x_nhwc, "SAME"
    return tf.pad(x_nhwc, [[0, 0], *pads, [0, 0]], constant_values=pad_value), "VALID"


def _as_pair(v):
    return list(v) * 2 if len(v) == 1 else list(v)


# max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0,
#                         int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)
@lower(aten.max_pool2d_with_indices)
def aten_max_pool2d_with_indices(ctx, self, kernel_size, stride=(), padding=(0,), dilation=(1,),
                                 ceil_mode=False):
    if 1 in ctx.used_outputs:
        raise NotImplementedError("max_pool2d indices output")
    kernel = _as_pair(kernel_size)
    stride = _as_pair(stride) if stride else kernel
    if _as_pair(dilation) != [1, 1]:
        raise NotImplementedError("dilated max pooling")
    x = nchw_to_nhwc(self)
    # SAME max pooling ignores padded cells, exactly like torch's -inf padding.
    x, pad = _pool_padding(x, kernel, stride, _as_pair(padding), ceil_mode, float("-inf"))
    y = tf.nn.max_pool2d(x, kernel, stride, pad)
    return nhwc_to_nchw(y), None


# avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0,
#            bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None)
@lower(aten.avg_pool2d)
def aten_avg_pool2d(ctx, self, kernel_size, stride=(), padding=(0,), ceil_mode=False,
                    count_include_pad=True, divisor_override=None):
    kernel = _as_pair(kernel_size)
    stride = _as_pair(stride) if stride else kernel
    padding = _as_pair(padding)
    x = nchw_to_nhwc(self)
    padded = any(p > 0 for p in padding) or ceil_mode
    if not padded:
        y = tf.nn.avg_pool2d(x, kernel, stride, "VALID")
        if divisor_override:
            y = y * (kernel[0] * kernel[1] / divisor_override)
        return nhwc_to_nchw(y)
    # Sum pooling over the padded input divided by the count torch uses.
    xp, _ = _pool_padding(x, kernel, stride, padding, ceil_mode, 0.0)
    total = tf.nn.avg_pool2d(xp, kernel, stride, "VALID") * float(kernel[0] * kernel[1])
    if divisor_override:
        return nhwc_to_nchw(total / float(divisor_override))
    ones = tf.ones([1, x.shape[1], x.shape[2], 1], x.dtype)
    if count_include_pad:
        # torch counts explicit padding but not the extra ceil_mode cells.
        ones = tf.pad(ones, [[0, 0], [padding[0]] * 2, [padding[1]] * 2, [0, 0]], constant_values=1.0)
        inner = [[0, 0], [0, xp.shape[1] - ones.shape[1]], [0, xp.shape[2] - ones.shape[2]], [0, 0]]
        ones = tf.pad(ones, inner)
    else:
        ones, _ = _pool_padding(ones, kernel, stride, padding, ceil_mode, 0.0)
    count = tf.nn.avg_pool2d(ones, kernel, stride, "VALID") * float(kernel[0] * kernel[1])
    return nhwc_to_nchw(total / count)


def _adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


# _adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor
@lower(aten._adaptive_avg_pool2d, aten.adaptive_avg_pool2d)
def aten_adaptive_avg_pool2d(ctx, self, output_size):
    out_h, out_w = _as_pair(output_size)
    h, w = self.shape[-2], self.shape[-1]
    if out_h == 1 and out_w == 1:
        return tf.reduce_mean(self, axis=[rank(self) - 2, rank(self) - 1], keepdims=True)
    if h % out_h == 0 and w % out_w == 0:
        kernel = [h // out_h, w // out_w]
        return nhwc_to_nchw(tf.nn.avg_pool2d(nchw_to_nhwc(self), kernel, kernel, "VALID"))
    rows = []
    for r0, r1 in _adaptive_bins(h, out_h):
        cols = [tf.reduce_mean(self[..., r0:r1, c0:c1], axis=[-2, -1], keepdims=True)
                for c0, c1 in _adaptive_bins(w, out_w)]
        rows.append(tf.concat(cols, axis=-1))
    return tf.concat(rows, axis=-2)
