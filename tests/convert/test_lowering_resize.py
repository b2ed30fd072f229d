"""Upsampling and pixel (un)shuffle through the full pipeline."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts
from tests.convert.fn_module import Fn

RESIZE = {
    # (fn, expected TFLite op or None for the exact matmul fallback)
    "bilinear_x2": (lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"), "RESIZE_BILINEAR"),
    "bilinear_size": (lambda x: F.interpolate(x, size=(11, 6), mode="bilinear"), "RESIZE_BILINEAR"),
    "bilinear_align_corners": (
        lambda x: F.interpolate(x, size=(13, 17), mode="bilinear", align_corners=True),
        "RESIZE_BILINEAR"),
    "bilinear_align_corners_scale": (
        lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear", align_corners=True),
        "RESIZE_BILINEAR"),
    "bilinear_down": (lambda x: F.interpolate(x, size=(4, 3), mode="bilinear"), "RESIZE_BILINEAR"),
    "bilinear_non_integer_scale": (
        lambda x: F.interpolate(x, scale_factor=2.3, mode="bilinear"), None),
    "nearest_x2": (lambda x: F.interpolate(x, scale_factor=2, mode="nearest"),
                   "RESIZE_NEAREST_NEIGHBOR"),
    "nearest_size": (lambda x: F.interpolate(x, size=(12, 5), mode="nearest"),
                     "RESIZE_NEAREST_NEIGHBOR"),
    "nearest_non_integer_scale": (
        lambda x: F.interpolate(x, scale_factor=1.7, mode="nearest"), None),
}


@pytest.mark.parametrize("name", sorted(RESIZE))
def test_resize(name):
    torch.manual_seed(0)
    fn, op = RESIZE[name]
    model = assert_converts(Fn(fn), (torch.randn(1, 3, 7, 9),))
    ops = summarize(model.flatbuffer).ops
    if op:
        assert ops[op] == 1


def test_resize_between_convs_stays_channels_last():
    torch.manual_seed(0)
    conv1, conv2 = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 2, 3, padding=1)
    module = Fn(lambda x: conv2(F.interpolate(conv1(x), scale_factor=2, mode="bilinear")))
    module.add_module("c1", conv1)
    module.add_module("c2", conv2)
    model = assert_converts(module, (torch.randn(1, 3, 6, 5),))
    assert summarize(model.flatbuffer).transposes == 2


def test_pixel_shuffle_after_conv_reorders_the_conv_weights():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2))
    model = assert_converts(module, (torch.randn(1, 3, 5, 6),))
    ops = summarize(model.flatbuffer).ops
    assert ops["DEPTH_TO_SPACE"] == 1 and ops["TRANSPOSE"] == 2  # input and output only


@pytest.mark.parametrize("module,shape", [
    (nn.PixelShuffle(3), (1, 18, 4, 5)),
    (nn.Sequential(nn.Conv2d(4, 8, 1), nn.ReLU(), nn.PixelShuffle(2)), (2, 4, 3, 3)),
    (nn.PixelUnshuffle(2), (1, 3, 6, 8)),
    (nn.Sequential(nn.PixelUnshuffle(3), nn.Conv2d(18, 4, 1)), (1, 2, 9, 6)),
], ids=["shuffle", "shuffle_after_relu", "unshuffle", "unshuffle_conv"])
def test_pixel_shuffle(module, shape):
    torch.manual_seed(0)
    model = assert_converts(module, (torch.randn(shape),))
    ops = summarize(model.flatbuffer).ops
    assert ops.get("DEPTH_TO_SPACE", 0) + ops.get("SPACE_TO_DEPTH", 0) == 1
