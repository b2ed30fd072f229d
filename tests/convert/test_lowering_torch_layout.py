"""The ATen lowerings of layout-sensitive ops, on tensors in torch's layout (NCHW).

The layout pass turns these ops into channels-last `edgebatch::*_cl` ops wherever it
can, but it leaves one in torch's layout where no channels-last frame fits (a
convolution of constants, a rank the rule does not take, a group norm where torch's
layout is cheaper), so each family keeps an ATen lowering. Here the pipeline runs
without the layout pass, so every op goes through that lowering.
"""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgebatch._convert.passes import pipeline
from tests.convert.checks import assert_converts
from tests.convert.fn_module import Fn

CASES = {
    "conv1d": (lambda: nn.Conv1d(4, 6, 3, padding=1), (1, 4, 11)),
    "conv2d_strided": (lambda: nn.Conv2d(3, 8, 3, stride=2, padding=1), (1, 3, 10, 9)),
    "conv2d_depthwise": (lambda: nn.Conv2d(8, 8, 3, groups=8), (1, 8, 7, 7)),
    "conv2d_grouped_dilated": (lambda: nn.Conv2d(4, 6, 3, groups=2, dilation=2, padding=2),
                               (1, 4, 9, 9)),
    "conv3d": (lambda: nn.Conv3d(2, 4, 3, padding=(1, 0, 1)), (1, 2, 5, 6, 6)),
    "conv_transpose2d": (lambda: nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                    output_padding=1), (1, 4, 5, 6)),
    "max_pool2d": (lambda: Fn(lambda x: F.max_pool2d(x, 3, 2, 1)), (1, 3, 10, 11)),
    "max_pool3d": (lambda: Fn(lambda x: F.max_pool3d(x, 2)), (1, 3, 4, 6, 6)),
    "avg_pool2d_pad_not_counted": (
        lambda: Fn(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)), (1, 3, 10, 9)),
    "avg_pool3d": (lambda: Fn(lambda x: F.avg_pool3d(x, (2, 3, 3), (2, 2, 2))), (1, 3, 5, 7, 8)),
    "adaptive_avg_pool2d": (lambda: Fn(lambda x: F.adaptive_avg_pool2d(x, (3, 4))), (1, 3, 10, 7)),
    "adaptive_avg_pool2d_1x1": (lambda: Fn(lambda x: F.adaptive_avg_pool2d(x, 1)), (2, 3, 7, 5)),
    "adaptive_max_pool2d": (lambda: Fn(lambda x: F.adaptive_max_pool2d(x, (3, 2))), (1, 3, 7, 6)),
    "upsample_bilinear": (
        lambda: Fn(lambda x: F.interpolate(x, scale_factor=2, mode="bilinear")), (1, 3, 5, 6)),
    "upsample_nearest": (lambda: Fn(lambda x: F.interpolate(x, size=(7, 9))), (1, 3, 5, 6)),
    "pixel_shuffle": (lambda: nn.PixelShuffle(2), (1, 12, 3, 4)),
    "pixel_unshuffle": (lambda: nn.PixelUnshuffle(2), (1, 3, 6, 4)),
    "group_norm": (lambda: nn.GroupNorm(2, 8), (2, 8, 5, 5)),
    "instance_norm": (lambda: nn.InstanceNorm2d(8, affine=True), (2, 8, 5, 5)),
}


@pytest.fixture
def without_layout_pass(monkeypatch):
    monkeypatch.setattr(pipeline, "PIPELINE",
                        tuple(p for p in pipeline.PIPELINE if p.name != "layout"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_aten_lowering_in_torch_layout(name, without_layout_pass):
    torch.manual_seed(0)
    make, shape = CASES[name]
    model = assert_converts(make(), (torch.randn(shape),))
    ran = [p["name"] for p in model.report["passes"]["serving_default"]]
    assert "layout" not in ran
