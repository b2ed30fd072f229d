"""grid_sampler_2d (F.grid_sample; RAFT's correlation lookup and warping) as gathers.

The input is read channels-last and flattened to rows [N*H*W, C], so each sampled
corner is one GATHER of whole channel vectors; bilinear adds the four corners with
their weights. Corners outside the image count as zeros ("zeros" padding: weight
times an in-bounds mask) or the coordinates are clamped first ("border").
"""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings.registry import lower
from edgebatch.errors import LoweringError

tf = tensorflow()
aten = torch.ops.aten

_BILINEAR, _NEAREST = 0, 1
_ZEROS, _BORDER = 0, 1
_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDINGS = {0: "zeros", 1: "border", 2: "reflection"}


def _pixel_coordinates(normalized, size: int, align_corners: bool):
    """[-1, 1] → pixel index space, as torch's grid_sampler_unnormalize."""
    if align_corners:
        return (normalized + 1.0) * ((size - 1) / 2.0)
    return ((normalized + 1.0) * size - 1.0) / 2.0


def _gather_corner(rows, batch_offset, y, x, height: int, width: int, zero_outside: bool):
    """Channel vectors at integer (y, x) [N, Ho, Wo] → [N, Ho, Wo, C], and the in-bounds
    mask [N, Ho, Wo, 1] (None when out-of-bounds corners cannot occur or do not matter)."""
    inside = None
    if zero_outside:
        inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
        inside = tf.expand_dims(tf.cast(inside, rows.dtype), -1)
    xi = tf.cast(tf.clip_by_value(x, 0, width - 1), tf.int32)
    yi = tf.cast(tf.clip_by_value(y, 0, height - 1), tf.int32)
    values = tf.gather(rows, batch_offset + yi * width + xi)
    return values, inside


# grid_sampler_2d(Tensor input, Tensor grid, int interpolation_mode, int padding_mode,
#                 bool align_corners) -> Tensor
@lower(aten.grid_sampler_2d.default)
def aten_grid_sampler_2d(ctx, input, grid, interpolation_mode, padding_mode, align_corners):
    if interpolation_mode not in (_BILINEAR, _NEAREST) or padding_mode not in (_ZEROS, _BORDER):
        raise LoweringError(
            f"grid_sample with mode={_MODES.get(interpolation_mode)!r}, "
            f"padding_mode={_PADDINGS.get(padding_mode)!r}: only bilinear/nearest with "
            "zeros/border padding are lowered"
        )
    channels, height, width = input.shape[1:]
    batch = tf.shape(input)[0]
    rows = tf.reshape(tf.transpose(input, [0, 2, 3, 1]), [-1, channels])
    # first row of each image in `rows`, broadcast over the output positions
    batch_offset = tf.reshape(tf.range(batch) * (height * width), [-1, 1, 1])
    x = _pixel_coordinates(grid[..., 0], width, align_corners)
    y = _pixel_coordinates(grid[..., 1], height, align_corners)
    if padding_mode == _BORDER:
        x = tf.clip_by_value(x, 0.0, width - 1.0)
        y = tf.clip_by_value(y, 0.0, height - 1.0)
    zero_outside = padding_mode == _ZEROS

    if interpolation_mode == _NEAREST:
        # torch rounds half to even (nearbyint), as tf.round does
        out, inside = _gather_corner(rows, batch_offset, tf.round(y), tf.round(x), height, width,
                                     zero_outside)
        out = out if inside is None else out * inside
    else:
        x0, y0 = tf.floor(x), tf.floor(y)
        wx1, wy1 = tf.expand_dims(x - x0, -1), tf.expand_dims(y - y0, -1)
        wx0, wy0 = 1.0 - wx1, 1.0 - wy1
        out = 0.0
        for cy, wy in ((y0, wy0), (y0 + 1.0, wy1)):
            for cx, wx in ((x0, wx0), (x0 + 1.0, wx1)):
                values, inside = _gather_corner(rows, batch_offset, cy, cx, height, width,
                                                zero_outside)
                weight = wy * wx if inside is None else wy * wx * inside
                out = out + values * weight
    return tf.transpose(out, [0, 3, 1, 2])
