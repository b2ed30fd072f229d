"""Core ATen ops that ordinary modules rarely put into a graph: the `*_copy` views,
as_strided, statistics outputs, pooling indices, scatter reductions, random numbers.

Several cases share one conversion to keep the suite fast.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import edgebatch
from edgebatch.errors import LoweringError
from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts
from tests.convert.fn_module import Fn

aten = torch.ops.aten


def test_copy_views_and_as_strided():
    def views(x, single):
        return (
            aten.view_copy.default(x, [4, 6]),
            aten.permute_copy.default(x, [-1, 0, 1]),
            aten.select_copy.int(x, -2, -1),
            aten.slice_copy.Tensor(x, -1, 1, None, 2),
            *aten.split_copy.Tensor(x, 3, -1),
            *aten.unbind_copy.int(x, 1),
            aten.unsqueeze_copy.default(x, -1),
            aten.as_strided_copy.default(x, [3, 2], [1, 4], 2),
            aten.as_strided.default(x, [2, 2, 2], [12, 1, 4]),
            *aten.unbind_copy.int(single, 0),  # size-1 dims
            aten.select_copy.int(single, 2, 0),
        )

    torch.manual_seed(0)
    assert_converts(Fn(views), (torch.randn(2, 3, 4), torch.randn(1, 3, 1)))


def test_as_strided_on_a_view_is_a_clear_error():
    module = Fn(lambda x: aten.as_strided.default(x.T, [2, 2], [1, 2]))
    with pytest.raises(LoweringError, match="as_strided on a non-contiguous tensor"):
        edgebatch.convert(module.eval(), (torch.randn(3, 4),))


def test_zero_size_results_run():
    def empty(x):
        part = x[:, :0]
        return (aten.unsqueeze_copy.default(part, 1),
                aten.slice_scatter.default(x[:0], x[:0, :2], 1, 0, 2),
                x + 1)

    assert_converts(Fn(empty), (torch.randn(3, 4),))


def _pools(batched, ties, unbatched, volume):
    return (
        *F.max_pool2d(batched, 3, 2, 1, return_indices=True),
        *F.max_pool2d(batched, 2, 2, 0, dilation=2, ceil_mode=True, return_indices=True),
        *F.max_pool2d(ties, 2, 1, return_indices=True),  # equal values: the first one wins
        *F.max_pool2d(unbatched, 2, return_indices=True),
        F.max_pool2d(unbatched, 3, 2, 1),
        F.avg_pool2d(unbatched, 2),
        *F.max_pool3d(volume, 2, 1, 1, return_indices=True),
        F.adaptive_avg_pool3d(volume, (2, 3, 1)),
        F.adaptive_avg_pool3d(volume[0], 1),
        F.pixel_shuffle(batched, 1),
        F.pixel_unshuffle(batched, 1),
    )


POOL_INPUTS = (
    (2, 3, 7, 8),   # batched
    (1, 2, 4, 5),   # ties (rounded values)
    (3, 6, 5),      # unbatched
    (1, 2, 5, 7, 4),
)


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_pooling_indices_unbatched_and_identity_shuffles(layout):
    torch.manual_seed(0)
    args = [torch.randn(shape) for shape in POOL_INPUTS]
    args[1] = torch.randint(0, 3, POOL_INPUTS[1]).float()
    module = Fn(_pools)
    if layout == "nhwc":
        args[0] = args[0].permute(0, 2, 3, 1).contiguous()
        args[3] = args[3].permute(0, 2, 3, 4, 1).contiguous()
        module = edgebatch.to_channel_last_io(module, args=[0, 3])
    assert_converts(module, tuple(args))


class Norms(torch.nn.Module):
    """Every output of the norm ops whose statistics a graph may return."""

    def __init__(self, channels):
        super().__init__()
        torch.manual_seed(0)
        self.weight = torch.nn.Parameter(torch.rand(channels) + 0.5)
        self.bias = torch.nn.Parameter(torch.randn(channels))
        self.register_buffer("running_mean", torch.randn(channels))
        self.register_buffer("running_var", torch.rand(channels) + 0.5)

    def forward(self, x, flat):
        stats = (self.running_mean, self.running_var)
        n, c, h, w = x.shape
        return (
            *aten.native_layer_norm.default(x, [h, w], None, None, 1e-5),
            *aten.native_group_norm.default(x, self.weight, self.bias, n, c, h * w, 2, 1e-5),
            *aten._native_batch_norm_legit.no_stats(x, self.weight, self.bias, True, 0.1, 1e-5),
            *aten._native_batch_norm_legit.no_stats(flat, None, None, True, 0.1, 1e-5),
            *aten._native_batch_norm_legit_functional.default(
                x, self.weight, self.bias, *stats, True, 0.1, 1e-5),
            *aten._native_batch_norm_legit_functional.default(
                x, self.weight, self.bias, *stats, False, 0.1, 1e-5),
            *aten._native_batch_norm_legit_no_training.default(
                x, self.weight, self.bias, *stats, 0.1, 1e-5),
        )


@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_norms_return_their_statistics(layout):
    torch.manual_seed(1)
    x = torch.randn(2, 4, 3, 5)
    module = Norms(4)
    if layout == "nhwc":
        x = x.permute(0, 2, 3, 1).contiguous()
        module = edgebatch.to_channel_last_io(module, args=[0])
    assert_converts(module, (x, torch.randn(6, 4)))


def test_scatter_keeps_the_last_write_and_reduces():
    index = torch.tensor([[0, 2, 0, 1], [1, 1, 1, 0]])  # repeated positions in each row

    def scatters(x, src):
        reductions = [
            aten.scatter_reduce.two(x, 0, index.T, src.T, reduce, include_self=include_self)
            for reduce in ("sum", "prod", "mean", "amax", "amin")
            for include_self in (True, False)
        ]
        return (aten.scatter.src(x.T, -1, index, src), aten.scatter.value(x.T, 1, index, 2.5),
                *reductions)

    torch.manual_seed(0)
    assert_converts(Fn(scatters), (torch.randn(4, 2), torch.randn(2, 4)))


def test_embedding_bag_and_pdist():
    torch.manual_seed(0)
    weight = torch.randn(10, 3)
    indices = torch.tensor([1, 2, 3, 4, 5])
    offsets = torch.tensor([0, 2, 2, 5])  # an empty bag; the last offset ends the last bag

    def fn(points, single):
        bag = aten._embedding_bag.default(weight, indices, offsets, False, 1, False, None, True)[0]
        return (bag, *(torch.pdist(points, p) for p in (2.0, 1.0, math.inf, 0.0, 3.0)),
                torch.pdist(single))  # one row: no pairs, an empty result

    # pow(sum |d|^3, 1/3) goes through exp/log in TFLite's POW: a few ulp more than 1e-5 rel.
    assert_converts(Fn(fn), (torch.randn(5, 3), torch.randn(1, 3)), atol=1e-5, rtol=1e-4)


def test_dropout_in_inference_is_identity_with_a_mask_of_ones():
    model = assert_converts(Fn(lambda x: aten.native_dropout.default(x, 0.3, False)),
                            (torch.randn(2, 5),))
    assert "RANDOM_UNIFORM" not in summarize(model.flatbuffer).ops


class Draws(torch.nn.Module):
    def forward(self, logits):
        probs = torch.softmax(logits, -1)
        return (torch.rand(2000, 4), torch.randn(2000, 4), torch.randperm(50),
                torch.multinomial(probs, 4000, replacement=True),
                torch.multinomial(probs[0], 3))


def test_random_ops_draw_from_their_distributions():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0, 0.5]] * 2)
    model = edgebatch.convert(Draws().eval(), (logits,))
    ops = summarize(model.flatbuffer).ops
    assert {"RANDOM_UNIFORM", "RANDOM_STANDARD_NORMAL", "MULTINOMIAL"} <= set(ops)
    uniform, normal, perm, samples, without = model(logits.numpy())

    assert uniform.shape == (2000, 4) and uniform.dtype == np.float32
    assert 0 <= uniform.min() and uniform.max() < 1
    assert abs(uniform.mean() - 0.5) < 0.02 and abs(uniform.var() - 1 / 12) < 0.01
    assert normal.shape == (2000, 4) and normal.dtype == np.float32
    assert abs(normal.mean()) < 0.05 and abs(normal.var() - 1) < 0.08
    assert perm.dtype == np.int32 and sorted(perm) == list(range(50))
    assert samples.shape == (2, 4000) and samples.dtype == np.int32
    frequencies = np.bincount(samples.ravel(), minlength=5) / samples.size
    # 8000 draws: a frequency's standard deviation is at most 0.0056, so 0.025 is 4.5 sigma.
    np.testing.assert_allclose(frequencies, torch.softmax(logits[0], -1).numpy(), atol=0.025)
    assert without.shape == (3,) and len(set(without)) == 3 and without.max() < 5
