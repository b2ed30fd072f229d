"""Transposes left in torchvision models (issue 4's acceptance list), and their numerics.

With `to_channel_last_io(args=[0])` (and the 4-D output of segmentation models) the eight
CNNs convert without a single TRANSPOSE (shufflenet's channel shuffles fold into conv
weights); without it, at most one per 4-D input/output. Google's converter
(litert-torch 0.10.0, NCHW I/O) leaves 50 in shufflenet_v2_x1_0 and 75 in vit_b_16.
"""

import numpy as np
import pytest
import torch

import edgebatch
import model_zoo
from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import op_counts

CNNS = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "squeezenet1_1",
        "convnext_tiny", "deeplabv3_mobilenet_v3_large", "shufflenet_v2_x1_0"]
# most TRANSPOSE ops allowed with channels-last I/O (ours: vit 24, its attention heads)
OTHERS = {"vit_b_16": 30}


def _convert(name: str, channels_last: bool):
    module, (x,) = model_zoo.build(f"torchvision/{name}")
    four_d_output = name.startswith("deeplab")
    if channels_last:
        module = edgebatch.to_channel_last_io(module, args=[0], outputs=[0] if four_d_output else [])
        x = x.permute(0, 2, 3, 1).contiguous()
    with torch.no_grad():
        expected = module(x).numpy()
    model = edgebatch.convert(module, (x,))
    actual = model(x)
    assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()
    summary = summarize(model.flatbuffer)
    assert summary.ops_on_constants == []
    assert op_counts(model)["DELEGATE"] == 1  # one XNNPACK partition: nothing left on the CPU
    return summary, 1 + four_d_output


def test_squeezenet_channels_last_io_has_no_transpose():
    summary, _ = _convert("squeezenet1_1", channels_last=True)
    assert summary.transposes == 0


@pytest.mark.slow
@pytest.mark.parametrize("name", CNNS)
def test_cnn_channels_last_io_has_no_transpose(name):
    summary, _ = _convert(name, channels_last=True)
    assert summary.transposes == 0
    assert "PADV2" not in summary.ops


@pytest.mark.slow
@pytest.mark.parametrize("name", CNNS + list(OTHERS))
def test_nchw_io_costs_at_most_one_transpose_per_4d_tensor(name):
    summary, four_d_tensors = _convert(name, channels_last=False)
    assert summary.transposes <= OTHERS.get(name, 0) + four_d_tensors


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(OTHERS))
def test_vit_stays_far_below_googles_count(name):
    summary, _ = _convert(name, channels_last=True)
    assert summary.transposes <= OTHERS[name]
