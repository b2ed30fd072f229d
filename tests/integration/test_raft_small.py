"""torchvision's raft_small (optical flow: correlation lookups and warps via grid_sample).

Not a zoo entry (two image inputs, a list of flow refinements as output): built here
with seeded random weights, converted on its last flow estimate. Checked like the zoo,
relative to the output's magnitude: max abs error ≤ 1e-4 × max|reference|.
"""

import numpy as np
import pytest
import torch
import torchvision

import edgebatch
from edgebatch.flatbuffer_summary import summarize


class LastFlow(torch.nn.Module):
    def __init__(self, raft):
        super().__init__()
        self.raft = raft

    def forward(self, image1, image2):
        return self.raft(image1, image2)[-1]


@pytest.mark.slow
def test_raft_small_converts_and_matches():
    torch.manual_seed(0)
    module = LastFlow(torchvision.models.optical_flow.raft_small(weights=None)).eval()
    images = tuple(torch.rand(1, 3, 128, 160) * 2 - 1 for _ in range(2))
    with torch.no_grad():
        expected = module(*images).numpy()
    assert expected.std() > 1e-2, "degenerate reference: the check would prove nothing"
    converted = edgebatch.convert(module, images)
    summary = summarize(converted.flatbuffer)
    assert not summary.uses_flex, summary.ops
    assert summary.ops["GATHER"] > 0  # the grid_sample lookups
    actual = converted(*images)
    assert np.abs(actual - expected).max() <= 1e-4 * np.abs(expected).max()
