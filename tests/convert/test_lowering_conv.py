"""Convolutions through the full pipeline (layout pass → channels-last lowering → LiteRT)."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts


def _ops(model):
    return summarize(model.flatbuffer).ops


CONV2D = {
    "plain_same": (nn.Conv2d(4, 6, 3, padding=1), (1, 4, 9, 9)),
    "strided_odd": (nn.Conv2d(4, 6, 3, stride=2, padding=1), (2, 4, 11, 9)),
    "strided_even": (nn.Conv2d(4, 6, 3, stride=2, padding=1), (1, 4, 12, 10)),
    "stem_7x7": (nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False), (1, 3, 20, 20)),
    "dilated": (nn.Conv2d(4, 6, 3, padding=2, dilation=2), (1, 4, 13, 11)),
    "dilated_strided": (nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2), (1, 4, 13, 12)),
    "asymmetric_kernel": (nn.Conv2d(4, 6, (1, 5), padding=(0, 2)), (1, 4, 7, 9)),
    "depthwise": (nn.Conv2d(6, 6, 3, padding=1, groups=6), (1, 6, 9, 9)),
    "depthwise_multiplier": (nn.Conv2d(4, 8, 3, stride=2, padding=1, groups=4), (1, 4, 10, 11)),
    "depthwise_dilated": (nn.Conv2d(6, 6, 3, padding=2, dilation=2, groups=6), (1, 6, 9, 9)),
    "grouped": (nn.Conv2d(8, 12, 3, padding=1, groups=4), (1, 8, 7, 7)),
    "valid_5x5": (nn.Conv2d(3, 4, 5), (1, 3, 11, 10)),
    "pointwise_strided": (nn.Conv2d(4, 8, 1, stride=2), (1, 4, 10, 10)),
    "padding_same_string": (nn.Conv2d(4, 4, 4, padding="same"), (1, 4, 9, 8)),
}


@pytest.mark.parametrize("name", sorted(CONV2D))
def test_conv2d(name):
    torch.manual_seed(0)
    module, shape = CONV2D[name]
    model = assert_converts(module, (torch.randn(shape),))
    ops = _ops(model)
    assert summarize(model.flatbuffer).ops_on_constants == []
    if "depthwise" in name:
        assert ops["DEPTHWISE_CONV_2D"] == 1
    if name == "grouped":
        assert ops["CONV_2D"] == 1 and "SPLIT" not in ops  # TFLite runs groups natively


def test_padding_equal_to_same_needs_no_pad_op():
    model = assert_converts(nn.Conv2d(4, 6, 3, stride=2, padding=1), (torch.randn(1, 4, 9, 9),))
    assert "PAD" not in _ops(model)


def test_explicit_pad_before_conv_folds_into_it():
    class PadConv(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 6, 3, stride=2)

        def forward(self, x):  # "TF-style" padding: equals SAME on an even input
            return self.conv(F.pad(x, (0, 1, 0, 1)))

    model = assert_converts(PadConv(), (torch.randn(1, 4, 10, 10),))
    assert "PAD" not in _ops(model) and "PADV2" not in _ops(model)


def test_conv_bias_relu6_fuse_into_one_op():
    module = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU6())
    with torch.no_grad():
        module[1].running_mean.uniform_(-1, 1)
        module[1].running_var.uniform_(0.5, 2)
    model = assert_converts(module, (torch.randn(1, 4, 8, 8),))
    ops = _ops(model)
    assert ops["CONV_2D"] == 1 and "MUL" not in ops and "ADD" not in ops and "RELU6" not in ops


@pytest.mark.parametrize("module,shape", [
    (nn.Conv1d(4, 6, 5, stride=2, padding=2), (2, 4, 17)),
    (nn.Conv1d(6, 6, 3, padding=2, dilation=2, groups=3), (1, 6, 16)),
    (nn.Conv1d(4, 4, 3, padding=1, groups=4), (1, 4, 15)),
], ids=["strided", "grouped_dilated", "depthwise"])
def test_conv1d(module, shape):
    torch.manual_seed(0)
    assert_converts(module, (torch.randn(shape),))


@pytest.mark.parametrize("module,shape", [
    (nn.Conv3d(3, 4, 3, stride=2, padding=1), (1, 3, 7, 8, 9)),
    (nn.Conv3d(4, 6, (1, 3, 3), padding=(0, 1, 1), groups=2), (1, 4, 3, 6, 6)),
], ids=["strided", "grouped"])
def test_conv3d(module, shape):
    torch.manual_seed(0)
    model = assert_converts(module, (torch.randn(shape),))
    assert "CONV_3D" in _ops(model)


CONV_TRANSPOSE = {
    # ConvTasNet's decoder: ConvTranspose1d(512, 1, 16, stride=8, padding=8), scaled down
    "tasnet_1d": (nn.ConvTranspose1d(64, 1, 16, stride=8, padding=8), (1, 64, 12)),
    "1d_output_padding": (nn.ConvTranspose1d(4, 3, 5, stride=3, padding=1, output_padding=2),
                          (1, 4, 9)),
    "2d_same_like": (nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1), (1, 4, 5, 6)),
    "2d_output_padding": (nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1),
                          (2, 4, 5, 5)),
    "2d_no_padding": (nn.ConvTranspose2d(4, 3, 2, stride=2), (1, 4, 5, 4)),
    "2d_large_padding": (nn.ConvTranspose2d(4, 3, 5, stride=2, padding=3, output_padding=1),
                         (1, 4, 6, 7)),
    "2d_grouped": (nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2), (1, 4, 5, 5)),
    "2d_dilated": (nn.ConvTranspose2d(4, 3, 3, stride=1, padding=2, dilation=2), (1, 4, 6, 6)),
    "3d": (nn.ConvTranspose3d(4, 2, 2, stride=2), (1, 4, 3, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(CONV_TRANSPOSE))
def test_conv_transpose(name):
    torch.manual_seed(0)
    module, shape = CONV_TRANSPOSE[name]
    model = assert_converts(module, (torch.randn(shape),))
    assert summarize(model.flatbuffer).ops_on_constants == []


def test_functional_conv_with_runtime_weight():
    class Dynamic(nn.Module):
        def forward(self, x, w):
            return F.conv2d(x, w, padding=1)

    assert_converts(Dynamic(), (torch.randn(1, 3, 6, 6), torch.randn(4, 3, 3, 3)))
