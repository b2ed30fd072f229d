"""Reduction and scan lowerings through the full convert → LiteRT path."""

import pytest
import torch
import torch.nn.functional as F

from tests.convert.checks import assert_converts
from tests.convert.fn_module import Fn

torch.manual_seed(0)
X = torch.randn(2, 3, 5)
# Distinct values, so that the index of a maximum or median is unambiguous.
DISTINCT = torch.randperm(30).float().view(2, 3, 5) - 11.5


def reductions(x, i, m):
    return (
        x.sum(), x.sum(-1), x.sum((0, 2), keepdim=True), x.mean(1), x.mean((-1, -2)),
        x.mean(), x.amax(-1), x.amin((0, 1), keepdim=True), x.prod(1), x.prod(),
        x.sum(1, dtype=torch.float32), i.sum(-1), i.prod(0), m.sum(-1), i.float().mean(),
        m.any(), m.any(-1), m.all(1), x.logsumexp(-1), x.count_nonzero(-1), x.max(), i.min(),
        torch.max(x, x.flip(0)),
    )


def arg_reductions(x):
    return (
        x.argmax(), x.argmin(-1), x.argmax(1, keepdim=True), x.argmax(keepdim=True),
        *x.max(-1), *x.min(0, keepdim=True), x.max(1).values, *x.aminmax(dim=-1),
    )


@pytest.mark.parametrize(
    "fn, args",
    [
        (reductions, (X, torch.randint(-4, 5, (2, 3)), X > 0)),
        (arg_reductions, (DISTINCT,)),
    ],
    ids=["reductions", "arg_reductions"],
)
def test_reductions(fn, args):
    assert_converts(Fn(fn), args)


@pytest.mark.filterwarnings("ignore:var\\(\\)")  # the NaN case below is on purpose
def test_variance_and_std():
    def spreads(x):
        return (
            x.var(-1), x.var(), x.var((0, 2), correction=0, keepdim=True), x.std(1),
            x.std(-1, correction=2), *torch.var_mean(x, 1), *torch.var_mean(x, -1, keepdim=True),
            torch.std_mean(x, 0, correction=0)[0], x[:, :1].var(1),  # n == correction: NaN
        )

    assert_converts(Fn(spreads), (X,))


def test_norms():
    def norms(x):
        return (
            x.norm(dim=-1), x.norm(p=1, dim=1, keepdim=True), x.norm(p=float("inf"), dim=-1),
            x.norm(p=3, dim=0), torch.linalg.vector_norm(x, ord=0, dim=-1),
            torch.linalg.vector_norm(x, ord=-float("inf")), torch.linalg.norm(x, dim=(1, 2)),
            F.normalize(x, dim=-1), F.cosine_similarity(x, x.flip(1), dim=-1),
            F.pairwise_distance(x[0], x[1]),
        )

    assert_converts(Fn(norms), (X,))


def test_median_and_kthvalue():
    def order_statistics(x):
        return (
            *x.median(-1), *x.median(1, keepdim=True), x.median(), x[:, :2].median(-1).values,
            *x.kthvalue(2, -1), *x.kthvalue(1, 0, keepdim=True),
        )

    assert_converts(Fn(order_statistics), (DISTINCT,))


def test_scans():
    def scans(x, i):
        return (
            x.cumsum(-1), x.cumsum(0), i.cumsum(1), (x > 0).cumsum(-1), x.cumprod(-1),
            x.cumprod(1), i.cumprod(-1), *x.cummax(-1), *x.cummin(1), *i.cummax(0),
            x.logcumsumexp(-1), x.logcumsumexp(0),
        )

    # cummax on ties reports the later index: small integers have plenty of ties.
    assert_converts(Fn(scans), (X, torch.randint(-2, 3, (2, 3, 5))))
