"""Batch, group, instance and layer norm through the full pipeline."""

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import edgebatch

from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts


def _randomize(module):
    """Non-trivial affine parameters and running statistics."""
    with torch.no_grad():
        for name, tensor in module.named_parameters():
            tensor.uniform_(0.5, 1.5) if name.endswith("weight") else tensor.uniform_(-0.5, 0.5)
        for name, tensor in module.named_buffers():
            if name.endswith("running_mean"):
                tensor.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                tensor.uniform_(0.5, 2.0)
    return module


NORMS = {
    "batch_norm_2d": (nn.BatchNorm2d(6), (2, 6, 5, 7)),
    "batch_norm_1d_rank3": (nn.BatchNorm1d(6), (2, 6, 9)),
    "batch_norm_1d_rank2": (nn.BatchNorm1d(6), (4, 6)),
    "batch_norm_3d": (nn.BatchNorm3d(4), (1, 4, 3, 5, 5)),
    "group_norm": (nn.GroupNorm(3, 6), (2, 6, 5, 7)),
    "group_norm_1d": (nn.GroupNorm(2, 4), (1, 4, 10)),
    "instance_norm_affine": (nn.InstanceNorm2d(6, affine=True), (2, 6, 5, 5)),
    "instance_norm_batch1": (nn.InstanceNorm2d(6), (1, 6, 7, 5)),
    "instance_norm_1d": (nn.InstanceNorm1d(4, affine=True), (2, 4, 11)),
    "instance_norm_running_stats": (nn.InstanceNorm2d(6, track_running_stats=True), (1, 6, 5, 5)),
    "layer_norm_last": (nn.LayerNorm(7), (2, 6, 5, 7)),
    "layer_norm_chw": (nn.LayerNorm([6, 5, 7]), (2, 6, 5, 7)),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norm_alone(name):
    torch.manual_seed(0)
    module, shape = NORMS[name]
    assert_converts(_randomize(module), (torch.randn(shape),), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("norm", [
    nn.BatchNorm2d(8), nn.GroupNorm(4, 8), nn.InstanceNorm2d(8, affine=True), nn.LayerNorm([8, 6, 6]),
], ids=["batch", "group", "instance", "layer_chw"])
def test_norm_between_convs_stays_channels_last(norm):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), _randomize(norm), nn.ReLU(),
                           nn.Conv2d(8, 4, 1))
    model = assert_converts(module, (torch.randn(2, 3, 6, 6),))
    assert summarize(model.flatbuffer).transposes == 2  # the NCHW input and output only


def test_batch_norm_after_conv_with_bias_folds_into_it():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=True), _randomize(nn.BatchNorm2d(8)))
    model = assert_converts(module, (torch.randn(1, 3, 6, 6),))
    ops = summarize(model.flatbuffer).ops
    assert ops["CONV_2D"] == 1 and "MUL" not in ops and "ADD" not in ops


def test_instance_norm_with_dynamic_batch():
    """torch.export writes instance norm as view → batch-stats BN → view, also with a
    symbolic batch; the canonicalize pass turns it back into one norm."""
    torch.manual_seed(0)
    module = _randomize(nn.InstanceNorm2d(4, affine=True)).eval()
    x = torch.randn(2, 4, 5, 5)
    model = edgebatch.convert(module, (x,), dynamic_shapes=({0: torch.export.Dim("n", max=4)},))
    np.testing.assert_allclose(model(x), module(x).detach().numpy(), atol=1e-5, rtol=1e-5)


def test_batch_norm_with_batch_statistics():
    class BatchStats(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.rand(5) + 0.5)
            self.bias = nn.Parameter(torch.rand(5))

        def forward(self, x):
            return F.batch_norm(x, None, None, self.weight, self.bias, training=True)

    torch.manual_seed(0)
    assert_converts(BatchStats(), (torch.randn(3, 5, 4, 6),))
