"""Resize (bilinear / nearest upsampling) and pixel (un)shuffle.

`edgebatch::resize_cl` (from the layout pass, which only emits it where TF's kernel is
exact) becomes RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR: torch's align_corners=False
is TF's half_pixel_centers, torch's legacy 'nearest' is TF's default nearest.
`edgebatch::depth_to_space` / `space_to_depth` are TF's own ops (the pass reorders the
channels torch's pixel_shuffle expects). The ATen upsample lowerings (any scale, any
layout) interpolate as two matmuls with constant matrices that torch itself computed,
which is exact for every torch coordinate rule.
"""

from __future__ import annotations

import numpy as np
import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir import nhwc_ops
from edgebatch._convert.lowerings._util import nchw_to_nhwc, nhwc_to_nchw, tf_rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


# resize_cl(Tensor x, int[] size, str mode, bool align_corners) -> Tensor
@lower(nhwc_ops.resize_cl)
def edgebatch_resize_cl(ctx, x, size, mode, align_corners):
    size = [int(s) for s in size]
    if mode == "bilinear":
        return tf.raw_ops.ResizeBilinear(images=x, size=size, align_corners=align_corners,
                                         half_pixel_centers=not align_corners)
    return tf.raw_ops.ResizeNearestNeighbor(images=x, size=size, align_corners=False,
                                            half_pixel_centers=False)


# depth_to_space(Tensor x, int block) -> Tensor       (TF's DCR channel order)
@lower(nhwc_ops.depth_to_space)
def edgebatch_depth_to_space(ctx, x, block):
    return tf.nn.depth_to_space(x, block)


# space_to_depth(Tensor x, int block) -> Tensor
@lower(nhwc_ops.space_to_depth)
def edgebatch_space_to_depth(ctx, x, block):
    return tf.nn.space_to_depth(x, block)


def _matrix(op, size_in: int, size_out: int, scale, align_corners) -> np.ndarray:
    """[size_out, size_in] interpolation matrix along one axis, computed by torch's op."""
    basis = torch.eye(size_in).reshape(1, size_in, size_in, 1)  # channel i = unit vector i
    if op == "bilinear":
        y = aten.upsample_bilinear2d.default(basis, [size_out, 1], align_corners, scale, None)
    else:
        y = aten.upsample_nearest2d.default(basis, [size_out, 1], scale, None)
    return y[0, :, :, 0].T.numpy().astype(np.float32)


def interpolate_nchw(x, mode, out_size, align_corners, scales):
    """Separable interpolation of a channels-first x: A_h · x · A_wᵀ."""
    h, w = x.shape[-2], x.shape[-1]
    if not isinstance(h, int) or not isinstance(w, int):
        raise NotImplementedError("upsampling over a symbolic spatial size")
    scales = list(scales) if scales else [None, None]
    a_h = _matrix(mode, h, out_size[0], scales[0], align_corners)
    a_w = _matrix(mode, w, out_size[1], scales[1], align_corners)
    y = x
    if not (w == out_size[1] and np.allclose(a_w, np.eye(w))):
        y = tf.matmul(y, tf.constant(a_w.T))
    if not (h == out_size[0] and np.allclose(a_h, np.eye(h))):
        y = tf.matmul(tf.constant(a_h), y)
    return y


def _upsample(ctx, input, mode, align_corners, scales):
    out_size = [int(s) for s in ctx.out_shape()[-2:]]
    if tf_rank(input) != 4:
        raise NotImplementedError(f"{mode} upsampling of a rank-{tf_rank(input)} tensor")
    return interpolate_nchw(input, mode, out_size, align_corners, scales)


# upsample_bilinear2d.vec(Tensor input, SymInt[]? output_size, bool align_corners,
#                         float[]? scale_factors) -> Tensor
# upsample_bilinear2d(Tensor self, SymInt[2] output_size, bool align_corners,
#                     float? scales_h=None, float? scales_w=None) -> Tensor
@lower(aten.upsample_bilinear2d)
def aten_upsample_bilinear2d(ctx, input, output_size, align_corners, *scales, **kw):
    if ctx.node.target is aten.upsample_bilinear2d.vec:
        factors = scales[0] if scales else kw.get("scale_factors")
    else:
        factors = [*scales, None, None][:2]
    return _upsample(ctx, input, "bilinear", align_corners, factors)


# upsample_nearest2d.vec(Tensor input, SymInt[]? output_size, float[]? scale_factors) -> Tensor
# upsample_nearest2d(Tensor self, SymInt[2] output_size, float? scales_h=None,
#                    float? scales_w=None) -> Tensor
@lower(aten.upsample_nearest2d)
def aten_upsample_nearest2d(ctx, input, output_size, *scales, **kw):
    if ctx.node.target is aten.upsample_nearest2d.vec:
        factors = scales[0] if scales else kw.get("scale_factors")
    else:
        factors = [*scales, None, None][:2]
    return _upsample(ctx, input, "nearest", False, factors)


def _channel_reorder_nhwc(x, split):
    """Channel a*split[1] + b → b*split[0] + a (channels-last x)."""
    shape = tf.shape(x)
    s0, s1 = split
    y = tf.reshape(x, tf.concat([shape[:-1], [s0, s1]], 0))
    y = tf.transpose(y, [0, 1, 2, 4, 3])
    return tf.reshape(y, shape)


# pixel_shuffle(Tensor self, int upscale_factor) -> Tensor
@lower(aten.pixel_shuffle)
def aten_pixel_shuffle(ctx, self, upscale_factor):
    r = upscale_factor
    if r == 1:  # DEPTH_TO_SPACE needs a block of at least 2; factor 1 is the identity
        return self
    x = nchw_to_nhwc(self)
    channels = x.shape[-1] // (r * r)
    return nhwc_to_nchw(tf.nn.depth_to_space(_channel_reorder_nhwc(x, (channels, r * r)), r))


# pixel_unshuffle(Tensor self, int downscale_factor) -> Tensor
@lower(aten.pixel_unshuffle)
def aten_pixel_unshuffle(ctx, self, downscale_factor):
    r = downscale_factor
    if r == 1:  # SPACE_TO_DEPTH needs a block of at least 2; factor 1 is the identity
        return self
    x = nchw_to_nhwc(self)
    y = tf.nn.space_to_depth(x, r)
    return nhwc_to_nchw(_channel_reorder_nhwc(y, (r * r, x.shape[-1])))
