"""View, slicing, concatenation and padding lowerings through the full convert → LiteRT path."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.convert.checks import assert_converts, op_counts
from tests.convert.fn_module import Fn

torch.manual_seed(0)
X = torch.randn(2, 3, 4)


def views(x):
    return (
        x.view(6, -1), x.reshape(-1), x.flatten(1), x.unflatten(2, (2, 2)), x.view(2, 3, 4),
        x.permute(2, 0, 1), x.permute(0, 1, 2) + 1, x.transpose(-1, 0), x.mT, x.movedim(0, -1),
        x.unsqueeze(0), x.unsqueeze(-1), x[:, None], x[:1].squeeze(0), x[:, :1].squeeze(),
        x.squeeze(1), x[:, :, :1].expand(-1, -1, 5), x[0].expand(2, 2, 3, 4),
        x.expand_as(x), x.repeat(2, 1, 3), x.repeat(2, 1, 1, 1), x.repeat_interleave(2, dim=1),
        x.tile(2), x.to(torch.int64), (x * 3).int(), x.bool(), x.long().float(), x.clone(),
        x.contiguous(), x.detach(), x.type_as(torch.zeros(1, dtype=torch.int32)),
    )


def slices(x):
    return (
        x[:, 1:], x[:, -2:], x[..., ::2], x[:, 1:100], x[:, -100:2], x[1:, 1:2, 1::2],
        x[0], x[-1], x[:, -1], x[..., -2], x.select(2, 3), x.narrow(2, 1, 2),
        x.flip(1), x.flip(0, 2),  # REVERSE_V2 takes adjacent axes only: two reverses here
    )


def concatenations(x, i):
    empty = x[:, 3:1]  # an empty slice only feeds cat: LiteRT cannot return empty tensors
    return (
        torch.cat([x, x * 2], 1), torch.cat([x, empty, x], 1), torch.cat([empty, x], 1),
        torch.cat([x, torch.zeros(0)], 2), torch.cat([x[..., :1], i.unsqueeze(-1)], -1),
        torch.stack([x, x + 1], 1), torch.stack([x[0], x[1]], -1), torch.hstack([x, x]),
    )


def splits(x):
    return (
        *x.split(2, dim=2), *x.chunk(2, 1), *x.split([1, 3], -1), *x.unbind(1),
        *x.tensor_split(3, dim=2), x.split(5, dim=2)[0],
    )


@pytest.mark.parametrize(
    "fn, args",
    [
        (views, (X,)),
        (concatenations, (X, torch.randint(0, 9, (2, 3)))),
        (splits, (X,)),
    ],
    ids=["views", "concatenations", "splits"],
)
def test_shape_ops(fn, args):
    assert_converts(Fn(fn), args)


def test_slices_are_strided_slices():
    model = assert_converts(Fn(slices), (X,))
    assert not {"GATHER", "GATHER_ND"} & set(op_counts(model))


def test_roll():
    def rolls(x):
        return x.roll(1, -1), x.roll((1, -2), (0, 2)), x.roll(5), x.roll(-3, 1)

    assert_converts(Fn(rolls), (X,))


def test_pad():
    def pads(x, y):
        modes = ["constant", "reflect", "replicate", "circular"]
        return (
            *(F.pad(x, (1, 2), mode) for mode in modes),
            *(F.pad(y, (2, 0, 1, 3), mode) for mode in modes),
            F.pad(x, (1, 1), value=-2.5), F.pad(y, (-1, 2, 0, -2)),  # negative pads crop
            F.pad(y, (0, 0, 0, 0, 1, 0)), torch.constant_pad_nd(x, [2, 1], 0.5),
            F.pad(x.long(), (1, 1), value=7),
        )

    assert_converts(Fn(pads), (torch.randn(2, 5, 6), torch.randn(1, 2, 5, 6)))


def test_unfold():
    def windows(x):
        return x.unfold(2, 2, 1), x.unfold(2, 2, 2), x.unfold(1, 2, 1), x.unfold(-1, 3, 2)

    model = assert_converts(Fn(windows), (X,))
    assert op_counts(model)["GATHER"] == 3  # overlapping windows; step == size is a reshape


@pytest.mark.parametrize("parts", [6, 9, 23])
def test_concat_of_many_parts_stays_in_one_xnnpack_partition(parts):
    # XNNPACK's delegate takes CONCATENATION of at most 5 inputs; more are concatenated in steps
    fn = Fn(lambda x: torch.cat([x[..., : 1 + i % 3] * (i + 1) for i in range(parts)], -1) + 1)
    model = assert_converts(fn, (torch.randn(1, 4, 4, 3),))
    assert op_counts(model)["DELEGATE"] == 1


def test_slice_scatter():
    def assign(x, z):
        y = x.clone()
        y[:, 1:3] = z
        y[:, :, ::2] = 0.5
        y[-1, 2:] += 1
        return y, torch.slice_scatter(x, z[:, :1], 1, -1)

    assert_converts(Fn(assign), (X, torch.randn(2, 2, 4)))


def test_diagonal():
    def diagonals(x):
        return (
            x.diagonal(0, 1, 2), x.diagonal(2, 1, 2), x.diagonal(-1, -1, 1), x[0].diagonal(),
            x[0].trace(), torch.diag(x[0, :, 0]),
        )

    model = assert_converts(Fn(diagonals), (torch.randn(2, 4, 5),))
    assert "GATHER" not in op_counts(model)


def test_dynamic_batch_views_and_slices():
    def sized_by_batch(x):
        b = x.shape[0]
        return (
            x.view(b, -1), x.reshape(b * 3, 4), x[:, :1].expand(-1, 3, 4) + 1,
            x[-1], x[1:], x[:, -2:], torch.cat([x, x], 0), torch.full((b, 2), 1.5),
        )

    batch = torch.export.Dim("batch", min=2, max=16)
    model = assert_converts(
        Fn(sized_by_batch), (torch.randn(4, 3, 4),), dynamic_shapes=(({0: batch},),)
    )
    x = torch.randn(7, 3, 4)  # another batch size: the model resizes
    for actual, expected in zip(model(x), sized_by_batch(x)):
        np.testing.assert_allclose(actual, expected.numpy(), atol=1e-6)



def test_split_stays_in_one_xnnpack_partition():
    """SPLIT_V is not delegated by XNNPACK; each one would cut the delegated graph."""
    model = assert_converts(Fn(lambda x: [torch.relu(p) for p in x.split([3, 5], 1)]),
                            (torch.randn(1, 8, 4, 4),))
    assert "SPLIT_V" not in op_counts(model) and "SPLIT" not in op_counts(model)


def test_select_drops_the_axis_with_a_reshape():
    """A STRIDED_SLICE that shrinks an axis is not delegated by XNNPACK (vit_b_16's q/k/v)."""
    model = assert_converts(Fn(lambda x: (x[:, 1] * 2, x[:, -1], x[..., 0])),
                            (torch.randn(2, 3, 4, 5),))
    interpreter = model._get_interpreter()
    delegates = sum(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())
    assert delegates == 1
