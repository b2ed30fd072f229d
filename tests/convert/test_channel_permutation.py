"""Channel shuffles folded into the weights around them (passes/channel_permutation.py).

Checked three ways: the piece/permutation algebra against numpy, the rewritten FX graph in
torch (`run_program`, invariants), and the converted model through LiteRT with its
TRANSPOSE count. Folding reorders the terms of a convolution's channel sum, so results
differ from PyTorch by float rounding only (the 1e-5 tolerance holds).
"""

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.models.shufflenetv2 import InvertedResidual

import edgebatch
from edgebatch._convert.export import export_module
from edgebatch._convert.passes.channel_permutation import (
    CHANNEL_ORDER_META, Piece, Virtual, fold_channel_permutations,
)
from edgebatch._convert.passes.invariants import run_program
from edgebatch._convert.passes.manager import GraphPass, run_passes
from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts
from tests.quantize.helpers import pt2e, randomize_batchnorm

aten = torch.ops.aten


def _materialize(virtual: Virtual, values: dict) -> np.ndarray:
    """The true tensor a virtual one stands for (channels on axis 0)."""
    cat = np.concatenate([values[p.node][p.start:p.stop] for p in virtual.pieces])
    return cat[virtual.perm]


def _shuffle(x: np.ndarray, groups: int) -> np.ndarray:
    return x.reshape(groups, -1).T.reshape(-1)


def test_piece_algebra_matches_numpy_on_a_shufflenet_like_chain():
    rng = np.random.default_rng(0)
    values = {"a": rng.permutation(12), "b": 100 + rng.permutation(12)}
    true = {"a": values["a"], "b": values["b"]}
    x = Virtual.concat([Virtual.whole("a", 12), Virtual.whole("b", 12)])
    ref = np.concatenate([true["a"], true["b"]])
    for step in range(6):
        x, ref = x.shuffled(2), _shuffle(ref, 2)
        assert (_materialize(x, values) == ref).all(), step
        keep, ref_keep = x.channels(0, 12), ref[:12]
        assert (_materialize(keep, values) == ref_keep).all(), step
        new = f"branch{step}"
        values[new] = 1000 * (step + 1) + rng.permutation(12)
        x = Virtual.concat([keep, Virtual.whole(new, 12)])
        ref = np.concatenate([ref_keep, values[new]])
        assert (_materialize(x, values) == ref).all(), step
    # pieces stay contiguous runs of their sources: at most one per source per split
    assert len({p.node for p in x.channels(12, 24).pieces}) == len(x.channels(12, 24).pieces)


def test_channels_merges_adjacent_runs_of_one_source():
    x = Virtual((Piece("a", 0, 4), Piece("a", 4, 8)), np.arange(8))
    assert x.channels(2, 7).pieces == (Piece("a", 2, 7),)


class MiniShuffleNet(nn.Module):
    """torchvision's ShuffleNetV2 blocks: two stages, strides 2 and 1, then a 1x1 conv."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.BatchNorm2d(12), nn.ReLU())
        self.stage1 = nn.Sequential(InvertedResidual(12, 24, 2), InvertedResidual(24, 24, 1),
                                    InvertedResidual(24, 24, 1), InvertedResidual(24, 24, 1))
        self.stage2 = nn.Sequential(InvertedResidual(24, 48, 2), InvertedResidual(48, 48, 1))
        self.head = nn.Conv2d(48, 16, 1)

    def forward(self, x):
        return self.head(self.stage2(self.stage1(self.stem(x)))).mean((2, 3))


def _mini_shufflenet():
    torch.manual_seed(0)
    return randomize_batchnorm(MiniShuffleNet()).eval()


def _folded(module, args):
    program = export_module(module, args)
    with torch.no_grad():
        expected = module(*args)
    expected = expected if isinstance(expected, tuple) else (expected,)
    (record,) = run_passes(
        program, [GraphPass("channel_permutation", fold_channel_permutations)], check=True)
    for actual, ref in zip(run_program(program, *args), expected, strict=True):
        np.testing.assert_allclose(actual.numpy(), ref.numpy(), atol=1e-5, rtol=1e-5)
    return program, record.stats


def test_every_shuffle_of_shufflenet_blocks_folds():
    module, x = _mini_shufflenet(), torch.randn(1, 3, 16, 16)
    program, result = _folded(module, (x,))
    assert result["folded_shuffles"] == 6
    assert not [n for n in program.graph.nodes if n.target is aten.permute.default]
    # the stride-2 block's depthwise branch runs on permuted channels, and says so
    reordered = [n for n in program.graph.nodes if CHANNEL_ORDER_META in n.meta]
    assert reordered and all(sorted(n.meta[CHANNEL_ORDER_META]) == list(range(24))
                             or sorted(n.meta[CHANNEL_ORDER_META]) == list(range(48))
                             for n in reordered)


def test_shufflenet_blocks_convert_without_transposes():
    module = edgebatch.to_channel_last_io(_mini_shufflenet(), args=[0])
    x = torch.randn(1, 16, 16, 3)
    model = assert_converts(module, (x,))
    summary = summarize(model.flatbuffer)
    assert summary.transposes == 0
    assert summary.ops_on_constants == []
    assert "GATHER" not in summary.ops and "GATHER_ND" not in summary.ops


def test_channel_shuffle_module_folds_into_the_next_conv():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(8, 12, 1), nn.ChannelShuffle(4), nn.ReLU(),
                           nn.Conv2d(12, 6, 3, padding=1)).eval()
    x = torch.randn(1, 8, 9, 9)
    _, result = _folded(module, (x,))
    assert result["folded_shuffles"] == 1
    model = assert_converts(edgebatch.to_channel_last_io(module, args=[0], outputs=[0]),
                            (x.permute(0, 2, 3, 1).contiguous(),))
    assert summarize(model.flatbuffer).transposes == 0


def test_per_channel_ops_run_on_permuted_channels():
    torch.manual_seed(0)
    module = randomize_batchnorm(nn.Sequential(
        nn.Conv2d(4, 12, 1), nn.ChannelShuffle(3), nn.BatchNorm2d(12), nn.GELU(approximate="tanh"),
        nn.Conv2d(12, 12, 3, padding=1, groups=12), nn.Hardtanh(-0.5, 0.5),
        nn.Conv2d(12, 5, 1))).eval()
    x = torch.randn(1, 4, 7, 7)
    program, result = _folded(module, (x,))
    assert result["folded_shuffles"] == 1
    reordered = {n.target for n in program.graph.nodes if CHANNEL_ORDER_META in n.meta}
    assert {aten.gelu.default, aten.convolution.default, aten.hardtanh.default} <= reordered
    model = assert_converts(edgebatch.to_channel_last_io(module, args=[0], outputs=[0]),
                            (x.permute(0, 2, 3, 1).contiguous(),))
    assert summarize(model.flatbuffer).transposes == 0


@pytest.mark.parametrize("use", ["output", "cumsum", "shared_weight"])
def test_a_use_that_needs_the_true_order_keeps_the_shuffle(use):
    torch.manual_seed(0)
    conv1, conv2 = nn.Conv2d(4, 8, 1), nn.Conv2d(8, 8, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = conv1, conv2

        def forward(self, x):
            y = self.conv1(x)
            s = y.view(1, 2, 4, 5, 5).transpose(1, 2).reshape(1, 8, 5, 5)
            if use == "output":
                return self.conv2(s), s
            if use == "cumsum":
                return self.conv2(s) + s.cumsum(1)
            return self.conv2(self.conv2(s))  # conv2's weight also reads unshuffled input

    module, x = Net().eval(), torch.randn(1, 4, 5, 5)
    program, result = _folded(module, (x,))
    if use == "shared_weight":
        # both convs absorb: the shared weight is copied in the new order for the first
        assert result["folded_shuffles"] == 1
    else:
        assert result["folded_shuffles"] == 0
        assert [n for n in program.graph.nodes if n.target is aten.permute.default]
    assert_converts(module, (x,))


def test_dynamic_batch_folds_and_resizes():
    module, x = _mini_shufflenet(), torch.randn(2, 3, 16, 16)
    batch = torch.export.Dim("batch", min=1, max=8)
    program = export_module(module, (x,), dynamic_shapes=({0: batch},))
    assert fold_channel_permutations(program).stats["folded_shuffles"] == 6
    model = edgebatch.convert(module, (x,), dynamic_shapes=({0: batch},))
    x3 = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        np.testing.assert_allclose(model(x3), module(x3).numpy(), atol=1e-5, rtol=1e-5)


def test_quantized_shuffles_are_left_to_the_quantized_lowering():
    module, x = _mini_shufflenet(), torch.randn(1, 3, 16, 16)
    quantized, _ = pt2e(module, (x,), calibration=[(torch.randn(1, 3, 16, 16),) for _ in range(4)])
    program = export_module(quantized, (x,))
    assert fold_channel_permutations(program).stats["folded_shuffles"] == 0  # weights are int8 + DQ
    with torch.no_grad():
        expected = quantized(x).numpy().ravel()
    actual = edgebatch.convert(quantized, (x,))(x).ravel()
    cosine = actual @ expected / np.linalg.norm(actual) / np.linalg.norm(expected)
    assert cosine > 0.999
