"""Tensor factory lowerings through the full convert → LiteRT path."""

import torch

from tests.convert.checks import assert_converts
from tests.convert.fn_module import Fn

torch.manual_seed(0)
X = torch.randn(2, 3, 4)


def factories(x, i):
    return (
        torch.zeros(2, 3) + x[0, :2, :3], torch.ones(4, dtype=torch.int64) + i,
        torch.full((3, 1), 2.5) * x, x.new_full((4,), 7.0) - x, x.new_zeros(3, 4) + x,
        torch.zeros_like(x) + 1, torch.ones_like(i) * 3, torch.full_like(x, -1.5),
        torch.empty(3, 4).fill_(2.0) * x, torch.empty_like(x).fill_(0.5),
        x.new_empty(4).zero_() + i, torch.empty_strided((2, 3), (3, 1)).fill_(1.0),
    )


def ranges(x, i):
    return (
        torch.arange(4) + i, torch.arange(1, 9, 3), torch.arange(4, dtype=torch.float32) * x,
        torch.arange(0.0, 1.0, 0.25), torch.arange(-3, 3).float(), torch.arange(5, 0, -2),
        torch.eye(3, 4) + x, torch.linspace(0, 1, 4) + x, torch.tril(x), torch.triu(x, 1),
        torch.tril(x, -1), x.masked_fill(torch.ones(4, 4).triu(1).bool()[:3], 0.0),
        torch.where(x > 0, 1.0, 0.0), torch.tensor([1.0, -2.0, 3.0, 0.5]) * x,
    )


def test_factories():
    assert_converts(Fn(factories), (X, torch.randint(0, 9, (4,))))


def test_ranges_and_triangles():
    assert_converts(Fn(ranges), (X, torch.randint(0, 9, (4,))))


def test_arange_of_a_data_dependent_length():
    # torchaudio's padding masks: the length comes from `lengths.max().item()`.
    def masked(x, lengths):
        longest = int(lengths.max().item())
        mask = torch.arange(longest).expand(len(lengths), longest) >= lengths.unsqueeze(1)
        return x.masked_fill(mask.unsqueeze(-1), 0.0)

    assert_converts(Fn(masked), (torch.randn(2, 6, 3), torch.tensor([6, 4])))
