"""Indexing, gather/scatter and sorting lowerings through the full convert → LiteRT path."""

import torch
import torch.nn.functional as F

from tests.convert.checks import assert_converts, op_counts
from tests.convert.fn_module import Fn

torch.manual_seed(0)
X = torch.randn(3, 4, 5)
# Distinct values, so that sorting has no ties to order.
DISTINCT = torch.randperm(60).float().view(3, 4, 5) - 30


def test_embedding():
    embedding = torch.nn.Embedding(10, 6, padding_idx=0)
    assert_converts(embedding, (torch.tensor([[0, 3, 9], [1, 1, 2]]),))


def test_embedding_bag():
    torch.manual_seed(0)
    weight = torch.randn(10, 4)
    indices, offsets = torch.tensor([1, 0, 4, 4, 9, 2, 0]), torch.tensor([0, 2, 2, 5])

    def bags(indices, offsets, per_sample):
        return (
            F.embedding_bag(indices, weight, offsets, mode="sum"),
            F.embedding_bag(indices, weight, offsets, mode="mean", padding_idx=0),
            F.embedding_bag(indices, weight, offsets, mode="max"),  # bag 1 is empty
            F.embedding_bag(indices.view(-1, 1)[:6].view(2, 3), weight, mode="mean"),
            F.embedding_bag(indices, weight, offsets, mode="sum", per_sample_weights=per_sample),
            F.embedding_bag(indices, weight, torch.cat([offsets, torch.tensor([7])]),
                            include_last_offset=True),
        )

    assert_converts(Fn(bags), (indices, offsets, torch.rand(7)))


def test_bucketize_and_searchsorted():
    boundaries = torch.tensor([-1.0, 0.0, 0.5, 2.0])
    rows = torch.sort(torch.randn(3, 6), dim=-1).values

    def searches(x, rows):
        per_row, descending = x[:, 0, :4].contiguous(), rows.flip(-1)
        ascending_order = torch.arange(5, -1, -1).repeat(3, 1)
        return (
            torch.bucketize(x, boundaries), torch.bucketize(x, boundaries, right=True),
            torch.bucketize(x.round(), boundaries, out_int32=True),
            torch.searchsorted(boundaries, x), torch.searchsorted(rows, per_row, side="right"),
            torch.searchsorted(descending, per_row, sorter=ascending_order),
        )

    assert_converts(Fn(searches), (X, rows))


def advanced_indexing(x, rows, cols):
    return (
        x[rows], x[:, cols], x[..., cols], x[rows, :, cols[:3]], x[rows[:2], cols[:2]],
        x[:, cols[:2], cols[:2]], x[rows[:, None], cols[None, :3]], x[None, :, [0, 2]],
        x[:, [[0, 1], [2, 3]]], x[[-1, 0]], x[0, cols], x[:, -1, [1, -2]],
        x.index_select(1, cols % 4), x.index_select(-1, rows % 3), x.index_select(0, rows[0]),
    )


def test_advanced_indexing():
    rows, cols = torch.tensor([2, 0, -1]), torch.tensor([3, 1, 0, -4])
    model = assert_converts(Fn(advanced_indexing), (X, rows, cols))
    assert "GATHER_ND" not in op_counts(model)


def gathers(x, index, small):
    return (
        torch.gather(x, -1, index), torch.gather(x, 1, index[:, :3, :]), torch.gather(x, 0, small),
        torch.take_along_dim(x, index[:, :, :2], dim=2), x.gather(2, x.argsort(-1)),
    )


def test_gather():
    index = torch.randint(0, 4, (3, 4, 5))
    assert_converts(Fn(gathers), (X, index, torch.randint(0, 3, (2, 3, 4))))


def scatters(x, perm, src):
    return (
        torch.zeros(3, 4, 5).scatter(-1, perm, src), x.scatter(1, perm[:, :2, :] % 4, 2.5),
        x.scatter_add(0, perm[:2, :, :3] % 3, src[:2, :, :3]), F.one_hot(perm[0, 0], 5),
        torch.zeros(3, 6).scatter_(1, perm[:, 0, :1], 1.0),
    )


def test_scatter():
    # A permutation along the last dim: scatter's targets there are distinct.
    perm = torch.argsort(torch.rand(3, 4, 5), dim=-1)
    assert_converts(Fn(scatters), (X, perm, torch.randn(3, 4, 5)))


def index_puts(x, rows, cols, values):
    a = x.clone()
    a[rows] = values[0]
    b = x.clone()
    b[:, cols[[0, 1, 0]]] = 0.5  # a repeated position
    c = x.clone()
    c[rows[:2], :, cols[:2]] = values[:2, :, 0]
    d = x.clone()
    d[:, cols, 1:3] = values[0, :4, 1:3].unsqueeze(0)
    e = x.index_add(1, cols % 4, values[:, :4])
    f = x.clone()
    f[x > 0.5] = -1.0
    g = x.clone()
    g[rows[:1], cols[:1]] += 2.0
    return a, b, c, d, e, f, g, x.index_put((rows,), values[0], accumulate=True)


def test_index_put():
    rows, cols = torch.tensor([2, 0, -2]), torch.tensor([3, 0, 1, -2])
    assert_converts(Fn(index_puts), (X, rows, cols, torch.randn(3, 4, 5)))


def sorts(x):
    return (
        *x.topk(2), *x.topk(3, dim=1, largest=False), *x.topk(2, 0), *x.sort(), *x.sort(1, True),
        *x.sort(dim=0, descending=False, stable=True), x.argsort(-1, descending=True),
        x.msort(), *x.long().sort(-1),
    )


def test_sort_and_topk():
    model = assert_converts(Fn(sorts), (DISTINCT,))
    assert "TOPK_V2" in op_counts(model)


def test_stable_sort_keeps_ties_in_order():
    ties = torch.tensor([[3.0, 1.0, 3.0, 2.0, 1.0, 3.0]])

    def stable_sorts(x):
        return *x.sort(stable=True), *x.sort(descending=True, stable=True)

    assert_converts(Fn(stable_sorts), (ties,))


def masked(x, mask, rows):
    a = x.clone()
    a[mask] = x[mask] * 2  # one value per selected entry
    b = x.clone()
    b[:, rows > 0] = -1.0
    c = x.clone()
    c[mask[:, :, 0]] = x[0, 0]  # a row broadcast to every selected entry
    return (
        x[mask], x[:, rows > 0], x[mask[:, :, 0]], torch.masked_select(x, mask[0]),
        torch.nonzero(mask), *torch.nonzero(mask[0, :, 0], as_tuple=True),
        x.masked_scatter(mask, -x), a, b, c,
    )


def test_boolean_masks():
    # As many outputs as True entries: TFLite's WHERE gives them a run-time size.
    mask = torch.rand(3, 4, 5) > 0.5
    mask[0, 0] = True  # no selection comes out empty
    assert_converts(Fn(masked), (X, mask, torch.tensor([1, -1, 2, 0])))
