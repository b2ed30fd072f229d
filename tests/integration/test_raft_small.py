"""torchvision's raft_small (optical flow: correlation lookups and warps via grid_sample).

Not a zoo entry (two image inputs, a list of flow refinements as output): built here
with seeded random weights, converted on its last flow estimate. Checked like the zoo,
relative to the output's magnitude: max abs error ≤ 1e-4 × max|reference|.
"""

import pytest
import torch
import torchvision

from model_zoo.wrappers import FinalFlow
from tests.integration.test_torchvision_models import assert_matches_pytorch


@pytest.mark.slow
def test_raft_small_converts_and_matches():
    torch.manual_seed(0)
    module = FinalFlow(torchvision.models.optical_flow.raft_small(weights=None)).eval()
    images = tuple(torch.rand(1, 3, 128, 160) * 2 - 1 for _ in range(2))
    summary = assert_matches_pytorch(module, images)
    assert summary.ops["GATHER"] > 0  # the grid_sample lookups
