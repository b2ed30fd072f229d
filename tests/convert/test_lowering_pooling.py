"""Pooling through the full pipeline, channels-last inside."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts
from tests.convert.fn_module import Fn

def _ops(model):
    return summarize(model.flatbuffer).ops


POOLS = {
    "max_valid": (lambda x: F.max_pool2d(x, 2), (1, 3, 8, 8)),
    "max_non_divisible": (lambda x: F.max_pool2d(x, 3, 2), (1, 3, 10, 9)),
    "max_padding_same": (lambda x: F.max_pool2d(x, 3, 1, 1), (1, 3, 7, 7)),
    "max_padding_strided": (lambda x: F.max_pool2d(x, 3, 2, 1), (2, 3, 10, 11)),
    "max_ceil_mode": (lambda x: F.max_pool2d(x, 3, 2, ceil_mode=True), (1, 3, 10, 8)),
    "max_ceil_padding": (lambda x: F.max_pool2d(x, (3, 2), (2, 2), (1, 1), ceil_mode=True),
                         (1, 3, 9, 8)),
    "avg_valid": (lambda x: F.avg_pool2d(x, 2), (1, 3, 8, 9)),
    "avg_non_divisible": (lambda x: F.avg_pool2d(x, 3, 2), (1, 3, 11, 10)),
    "avg_pad_counted": (lambda x: F.avg_pool2d(x, 3, 2, 1), (1, 3, 10, 11)),
    "avg_pad_not_counted": (lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False),
                            (1, 3, 7, 8)),
    "avg_pad_not_counted_strided": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
                                    (1, 3, 10, 9)),
    "avg_ceil_mode": (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True), (1, 3, 10, 10)),
    "avg_divisor_override": (lambda x: F.avg_pool2d(x, 2, divisor_override=3), (1, 3, 6, 6)),
    "adaptive_avg_1x1": (lambda x: F.adaptive_avg_pool2d(x, 1), (2, 3, 7, 5)),
    "adaptive_avg_divisible": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)), (1, 3, 8, 9)),
    "adaptive_avg_non_divisible": (lambda x: F.adaptive_avg_pool2d(x, (3, 4)), (1, 3, 10, 7)),
    "adaptive_max": (lambda x: F.adaptive_max_pool2d(x, (3, 2)), (1, 3, 7, 6)),
    "max_pool1d": (lambda x: F.max_pool1d(x, 3, 2, 1), (1, 4, 11)),
    "avg_pool1d": (lambda x: F.avg_pool1d(x, 4), (1, 4, 12)),
    "adaptive_avg_pool1d": (lambda x: F.adaptive_avg_pool1d(x, 5), (1, 4, 12)),
    "max_pool3d": (lambda x: F.max_pool3d(x, 2), (1, 3, 4, 6, 6)),
    "avg_pool3d": (lambda x: F.avg_pool3d(x, (2, 3, 3), (2, 2, 2)), (1, 3, 5, 7, 8)),
}


@pytest.mark.parametrize("name", sorted(POOLS))
def test_pooling(name):
    torch.manual_seed(0)
    fn, shape = POOLS[name]
    model = assert_converts(Fn(fn), (torch.randn(shape),))
    ops = _ops(model)
    if name in ("max_padding_same", "avg_pad_not_counted"):
        assert "PAD" not in ops and "PADV2" not in ops  # SAME carries the padding


def test_max_pool_padding_after_relu_is_a_zero_pad():
    """resnet's stem: relu → max_pool(3, 2, 1) on an even size is not SAME; the input is
    never negative, so a plain PAD replaces the -inf PADV2 (which XNNPACK does not take)."""
    model = assert_converts(Fn(lambda x: F.max_pool2d(torch.relu(x), 3, 2, 1)),
                            (torch.randn(1, 3, 12, 12),))
    ops = _ops(model)
    assert ops["PAD"] == 1 and "PADV2" not in ops
