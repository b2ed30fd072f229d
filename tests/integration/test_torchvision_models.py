"""The nine torchvision models of the converter's acceptance list, on meaningful weights.

Untrained torchvision nets collapse (mobilenet_v2 outputs ~1e-9), so model_zoo redraws
constant weights and re-estimates norm statistics; the check is relative to the
reference's magnitude: max abs error ≤ 1e-4 × max|reference|.
"""

import numpy as np
import pytest
import torch

import edgebatch
import model_zoo
from edgebatch.flatbuffer_summary import summarize

MODELS = [
    "resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "squeezenet1_1",
    "shufflenet_v2_x1_0", "convnext_tiny", "vit_b_16", "deeplabv3_mobilenet_v3_large",
]


def assert_matches_pytorch(module, inputs):
    """Convert `module` with built-in ops only; its output within 1e-4 of PyTorch's scale.
    Returns the file's summary."""
    with torch.no_grad():
        expected = module(*inputs).numpy()
    assert expected.std() > 1e-2, "degenerate reference: the check would prove nothing"
    converted = edgebatch.convert(module, inputs)
    summary = summarize(converted.flatbuffer)
    assert not summary.uses_flex, summary.ops
    actual = converted(*inputs)
    assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()
    return summary


def _assert_matches_pytorch(name: str) -> None:
    assert_matches_pytorch(*model_zoo.build(f"torchvision/{name}"))


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_torchvision_model_matches_pytorch(name):
    _assert_matches_pytorch(name)


def test_squeezenet_matches_pytorch_in_the_default_suite():
    """The cheapest of the nine (about 2 s) keeps a real zoo model in every `make test`."""
    _assert_matches_pytorch("squeezenet1_1")
