"""Convolutions: aten.convolution for 1-D/2-D (+depthwise, grouped), NHWC inside."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import nchw_to_nhwc, nhwc_to_nchw, rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


def same_padding(size, kernel: int, stride: int, dilation: int) -> tuple[int, int] | None:
    """TF's SAME padding (before, after) for one spatial dim, or None if `size` is symbolic
    and SAME's padding depends on it."""
    effective = (kernel - 1) * dilation + 1
    if stride == 1:
        total = effective - 1
    elif isinstance(size, int):
        out = -(-size // stride)
        total = max((out - 1) * stride + effective - size, 0)
    else:
        return None
    return total // 2, total - total // 2


def tf_padding(in_spatial, kernel, stride, dilation, padding):
    """'VALID', 'SAME' or an explicit NHWC pad list for torch's symmetric `padding`."""
    if all(p == 0 for p in padding):
        return "VALID"
    same = [same_padding(*a) for a in zip(in_spatial, kernel, stride, dilation)]
    if all(s == (p, p) for s, p in zip(same, padding)):
        return "SAME"
    return [[0, 0], *[[p, p] for p in padding], [0, 0]]


def _conv2d_nhwc(x, weight, stride, padding, dilation, groups):
    """x NHWC, weight torch OIHW; returns NHWC."""
    out_ch, in_per_group, kh, kw = weight.shape
    in_spatial = [x.shape[1], x.shape[2]]
    pad = tf_padding(in_spatial, (kh, kw), stride, dilation, padding)
    strides = [1, *stride, 1]
    if groups == 1:
        filt = tf.transpose(weight, [2, 3, 1, 0])
        return tf.nn.conv2d(x, filt, strides, pad, dilations=list(dilation))
    in_ch = in_per_group * groups
    if in_per_group == 1 and out_ch % in_ch == 0:
        multiplier = out_ch // in_ch
        filt = tf.reshape(tf.transpose(weight, [2, 3, 1, 0]), [kh, kw, in_ch, multiplier])
        if isinstance(pad, list):
            x, pad = tf.pad(x, pad), "VALID"
        return tf.nn.depthwise_conv2d(x, filt, strides, pad, dilations=list(dilation))
    xs = tf.split(x, groups, axis=3)
    ws = tf.split(weight, groups, axis=0)
    return tf.concat(
        [_conv2d_nhwc(xi, wi, stride, padding, dilation, 1) for xi, wi in zip(xs, ws)], axis=3
    )


# convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding,
#             SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor
@lower(aten.convolution.default)
def aten_convolution(ctx, input, weight, bias, stride, padding, dilation, transposed,
                     output_padding, groups):
    spatial = rank(input) - 2
    if transposed or spatial not in (1, 2):
        raise NotImplementedError(
            f"convolution with transposed={transposed} and {spatial} spatial dims"
        )
    if spatial == 1:
        x = tf.expand_dims(input, 2)
        w = tf.expand_dims(weight, 2)
        stride, padding, dilation = [1, *stride], [0, *padding], [1, *dilation]
    else:
        x, w = input, weight
    y = _conv2d_nhwc(nchw_to_nhwc(x), w, list(stride), list(padding), list(dilation), groups)
    if bias is not None:
        y = tf.nn.bias_add(y, bias)
    y = nhwc_to_nchw(y)
    return tf.squeeze(y, 2) if spatial == 1 else y
