"""grid_sampler_2d (F.grid_sample; RAFT's correlation lookup and warping) as gathers.

The input is read channels-last and flattened to rows [N*H*W, C], so each sampled
corner is one GATHER of whole channel vectors; bilinear adds the four corners with
their weights. Corners outside the image count as zeros ("zeros" padding: their weight
is 0) or the coordinates are clamped first ("border").
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


def _neighbours(coordinate, size: int, zero_outside: bool, nearest: bool):
    """Along one axis: [(int32 index, weight)] for the sampled neighbours (two for bilinear,
    one for nearest). With zeros padding a neighbour outside the image gets weight 0 (its
    index is clamped so the gather stays in bounds); the masks are computed once per axis,
    not once per corner."""
    if nearest:
        # torch rounds half to even (nearbyint), as tf.round does
        terms = [(tf.round(coordinate), None)]
    else:
        low = tf.floor(coordinate)
        frac = coordinate - low
        terms = [(low, 1.0 - frac), (low + 1.0, frac)]
    neighbours = []
    for position, weight in terms:
        if zero_outside:
            inside = tf.cast((position >= 0) & (position <= size - 1), coordinate.dtype)
            weight = inside if weight is None else weight * inside
        index = tf.cast(tf.clip_by_value(position, 0, size - 1), tf.int32)
        neighbours.append((index, weight))
    return neighbours


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
    nearest = interpolation_mode == _NEAREST
    out = None
    for yi, wy in _neighbours(y, height, zero_outside, nearest):
        for xi, wx in _neighbours(x, width, zero_outside, nearest):
            values = tf.gather(rows, batch_offset + yi * width + xi)
            weight = wx if wy is None else (wy if wx is None else wy * wx)
            if weight is not None:  # None: nearest with border padding, every sample counts
                values = values * tf.expand_dims(weight, -1)
            out = values if out is None else out + values
    return tf.transpose(out, [0, 3, 1, 2])
