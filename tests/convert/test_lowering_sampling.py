"""F.grid_sample (grid_sampler_2d) through convert → LiteRT, built-in ops only."""

import pytest
import torch
import torch.nn.functional as F

from tests.convert.checks import assert_converts, op_counts
from tests.convert.fn_module import Fn

torch.manual_seed(0)
IMAGE = torch.randn(2, 3, 7, 9)
# past the borders on purpose, plus exact corners and a half-pixel tie for nearest
GRID = torch.rand(2, 5, 6, 2) * 2.4 - 1.2
GRID[0, 0, 0] = torch.tensor([1.0, -1.0])
GRID[0, 0, 1] = torch.tensor([-1.0 + 1.0 / 9, 0.0])


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample(mode, padding_mode, align_corners):
    def sample(x, grid):
        return F.grid_sample(x, grid, mode=mode, padding_mode=padding_mode,
                             align_corners=align_corners)

    ops = op_counts(assert_converts(Fn(sample), (IMAGE, GRID)))
    assert ops["GATHER"] == (4 if mode == "bilinear" else 1)


def test_warp_with_a_flow_field():
    # RAFT-style use: the grid is built from a flow the model computed
    conv = torch.nn.Conv2d(3, 2, 3, padding=1)

    def warp(x):
        flow = torch.tanh(conv(x)).permute(0, 2, 3, 1)
        return F.grid_sample(x, flow, align_corners=True)

    assert_converts(Fn(warp), (IMAGE,))


def test_unsupported_mode_is_a_clear_error():
    import edgebatch
    from edgebatch.errors import LoweringError

    with pytest.raises(LoweringError, match="bicubic"):
        edgebatch.convert(Fn(lambda x, g: F.grid_sample(x, g, mode="bicubic")).eval(),
                          (IMAGE, GRID))
