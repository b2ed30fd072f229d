"""Convolutions (1-D/2-D/3-D, grouped, depthwise, dilated, transposed), channels-last.

`edgebatch::conv_cl` (emitted by the layout pass) takes and returns channels-last
tensors; `aten.convolution` (where the pass left a convolution in torch's layout) wraps
the same code in transposes. Weights arrive in torch's layout and are transposed here;
TF's converter folds that into the constant, so the flatbuffer holds them in TFLite's
layout.

Padding: torch pads (before, after) per spatial dim; the layout pass has already folded
a zero pad before the conv into it. Where that padding equals TF's SAME (or VALID) the
conv carries it; otherwise one PAD runs first (XNNPACK fuses a zero PAD into the
following convolution).
"""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir import nhwc_ops
from edgebatch._convert.lowerings._util import nchw_to_nhwc, nhwc_to_nchw, tf_rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


# --- padding ------------------------------------------------------------------------------

def effective_pads(size, kernel: int, stride: int, before: int, after: int):
    """(before, after) that torch actually reads: trailing padding no window reaches is
    dropped. `size` may be symbolic (None), then `after` is kept."""
    if not isinstance(size, int):
        return before, after
    out = (size + before + after - kernel) // stride + 1
    return before, max(0, min(after, (out - 1) * stride + kernel - size - before))


def same_pads(size, kernel: int, stride: int):
    """TF's SAME (before, after) for one dim, or None if it depends on a symbolic size."""
    if stride == 1:
        total = kernel - 1
    elif isinstance(size, int):
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    else:
        return None
    return total // 2, total - total // 2


def padding_mode(sizes, kernels, strides, pairs):
    """'VALID', 'SAME', or the explicit (before, after) pairs a PAD must add first.

    `kernels` are effective sizes ((k - 1) * dilation + 1); `pairs` torch's padding.
    """
    pairs = [effective_pads(*a) for a in zip(sizes, kernels, strides, *zip(*pairs))]
    if all(p == (0, 0) for p in pairs):
        return "VALID", pairs
    same = [same_pads(*a) for a in zip(sizes, kernels, strides)]
    if all(s is not None and s == p for s, p in zip(same, pairs)):
        return "SAME", pairs
    return "EXPLICIT", pairs


def pad_spatial(x, pairs, value=0.0):
    return tf.pad(x, [[0, 0], *[list(p) for p in pairs], [0, 0]], constant_values=value)


# --- forward convolution ----------------------------------------------------------------------

def _conv_nd(x, filt, strides, mode, dilations):
    n = len(strides)
    if n == 2:
        return tf.nn.conv2d(x, filt, [1, *strides, 1], mode, dilations=[1, *dilations, 1])
    return tf.nn.conv3d(x, filt, [1, *strides, 1], mode, dilations=[1, *dilations, 1])


def conv_forward(x, weight, stride, pairs, dilation, groups):
    """x channels-last (2 or 3 spatial dims); weight torch [O, I/g, *k]."""
    n = len(stride)
    kernel = list(weight.shape[2:])
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    sizes = x.shape.as_list()[1:-1]
    mode, pairs = padding_mode(sizes, eff, stride, pairs)
    if mode == "EXPLICIT":
        x, mode = pad_spatial(x, pairs), "VALID"
    channels = x.shape[-1]
    out_channels, in_per_group = weight.shape[0], weight.shape[1]
    to_tf = [*range(2, 2 + n), 1, 0]
    if n == 2 and groups > 1 and in_per_group == 1 and groups == channels \
            and out_channels % channels == 0:
        filt = tf.reshape(tf.transpose(weight, to_tf), [*kernel, channels, out_channels // channels])
        return tf.raw_ops.DepthwiseConv2dNative(
            input=x, filter=filt, strides=[1, *stride, 1], padding=mode,
            dilations=[1, *dilation, 1])
    if groups == 1 or n == 2:  # TFLite's CONV_2D runs groups natively
        return _conv_nd(x, tf.transpose(weight, to_tf), stride, mode, dilation)
    xs = tf.split(x, groups, axis=-1)
    ws = tf.split(weight, groups, axis=0)
    return tf.concat([_conv_nd(xi, tf.transpose(wi, to_tf), stride, mode, dilation)
                      for xi, wi in zip(xs, ws)], axis=-1)


# --- transposed convolution -----------------------------------------------------------------

def _dilate_kernel(weight, dilation):
    """Insert (d - 1) zeros between taps: TFLite's TRANSPOSE_CONV has no dilation."""
    if all(d == 1 for d in dilation):
        return weight
    n = len(dilation)
    shape = weight.shape.as_list()
    for axis, d in enumerate(dilation):
        if d == 1:
            continue
        dim = 2 + axis
        k = shape[dim]
        w = tf.expand_dims(weight, dim + 1)
        paddings = [[0, 0]] * (len(shape) + 1)
        paddings[dim + 1] = [0, d - 1]
        w = tf.pad(w, paddings)
        new_shape = list(shape)
        new_shape[dim] = k * d
        w = tf.reshape(w, new_shape)
        weight = tf.slice(w, [0] * len(shape), [*shape[:dim], (k - 1) * d + 1, *shape[dim + 1:]])
        shape = weight.shape.as_list()
    del n
    return weight


def conv_transpose(x, weight, stride, pairs, dilation, output_padding, groups, out_spatial,
                   bias=None):
    """x channels-last; weight torch [I, O/g, *k]; out_spatial: torch's output sizes."""
    n = len(stride)
    weight = _dilate_kernel(weight, dilation)
    kernel = weight.shape.as_list()[2:]
    sizes = x.shape.as_list()[1:-1]
    pads = [p for p, _ in pairs]
    full = [(s - 1) * st + k for s, st, k in zip(sizes, stride, kernel)]
    same = all(
        -(-o // st) == s and max((s - 1) * st + k - o, 0) // 2 == p
        for o, s, st, k, p in zip(out_spatial, sizes, stride, kernel, pads))
    valid = all(p == 0 and f <= o < f + st for p, f, o, st in zip(pads, full, out_spatial, stride))
    if valid or same:
        mode, tf_out = ("VALID" if valid else "SAME"), list(out_spatial)
    else:
        mode, tf_out = "VALID", full
    batch = tf.shape(x)[0] if x.shape[0] is None else x.shape[0]
    to_tf = [*range(2, 2 + n), 1, 0]

    def one(xi, wi):
        out_shape = tf.stack([batch, *tf_out, wi.shape[1]]) if x.shape[0] is None \
            else [batch, *tf_out, wi.shape[1]]
        filt = tf.transpose(wi, to_tf)
        if n == 2:
            return tf.nn.conv2d_transpose(xi, filt, out_shape, [1, *stride, 1], mode)
        return tf.nn.conv3d_transpose(xi, filt, out_shape, [1, *stride, 1], mode)

    if groups == 1:
        y = one(x, weight)
    else:
        xs = tf.split(x, groups, axis=-1)
        ws = tf.split(weight, groups, axis=0)
        y = tf.concat([one(xi, wi) for xi, wi in zip(xs, ws)], axis=-1)
    if valid or same:
        return y if bias is None else tf.nn.bias_add(y, bias)
    crops = [(p, f - p - o) for p, f, o in zip(pads, full, out_spatial)]
    if bias is not None and all(after >= 0 for _, after in crops):
        y = tf.nn.bias_add(y, bias)  # before the crop, so TF fuses it into TRANSPOSE_CONV
        bias = None
    begin = [0, *[max(b, 0) for b, _ in crops], 0]
    size = [-1, *[f - max(b, 0) - max(a, 0) for (b, a), f in zip(crops, full)], -1]
    y = tf.slice(y, begin, size)
    if any(a < 0 for _, a in crops):
        y = pad_spatial(y, [(0, max(-a, 0)) for _, a in crops])
    return y if bias is None else tf.nn.bias_add(y, bias)


# --- the ops -------------------------------------------------------------------------------

def conv_channels_last(x, weight, bias, stride, padding_pairs, dilation, transposed,
                       output_padding, groups, out_spatial):
    """Any convolution on a channels-last x; returns channels-last."""
    spatial = tf_rank(x) - 2
    if spatial == 1:  # as 2-D with a height of 1
        x = tf.expand_dims(x, 1)
        weight = tf.expand_dims(weight, 2)
        stride, dilation = [1, *stride], [1, *dilation]
        padding_pairs = [(0, 0), *padding_pairs]
        output_padding = [0, *output_padding]
        out_spatial = [1, *out_spatial]
    if transposed:
        y = conv_transpose(x, weight, list(stride), padding_pairs, list(dilation),
                           list(output_padding), groups, list(out_spatial), bias)
    else:
        y = conv_forward(x, weight, list(stride), padding_pairs, list(dilation), groups)
        if bias is not None:
            y = tf.nn.bias_add(y, bias)
    return tf.squeeze(y, 1) if spatial == 1 else y


def _pairs(flat):
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


# conv_cl(Tensor x, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation,
#         bool transposed, int[] output_padding, int groups) -> Tensor   (padding: before/after)
@lower(nhwc_ops.conv_cl)
def edgebatch_conv_cl(ctx, x, weight, bias, stride, padding, dilation, transposed,
                      output_padding, groups):
    out_spatial = ctx.out_shape()[1:-1]
    return conv_channels_last(x, weight, bias, stride, _pairs(padding), dilation, transposed,
                              output_padding, groups, out_spatial)


# convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding,
#             SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor
@lower(aten.convolution.default)
def aten_convolution(ctx, input, weight, bias, stride, padding, dilation, transposed,
                     output_padding, groups):
    spatial = tf_rank(input) - 2
    if spatial not in (1, 2, 3):
        raise NotImplementedError(f"convolution with {spatial} spatial dims")
    pads = [(p, p) for p in (list(padding) * spatial if len(padding) == 1 else padding)]
    y = conv_channels_last(nchw_to_nhwc(input), weight, bias, stride, pads, dilation,
                           transposed, output_padding, groups, ctx.out_shape()[2:])
    return nhwc_to_nchw(y)
