"""edgebatch.to_channel_last_io: the wrapper's contract and the transposes it removes."""

import pytest
import torch
import torch.nn as nn

import edgebatch
from edgebatch.flatbuffer_summary import summarize
from tests.convert.checks import assert_converts


class Identity(nn.Module):
    def forward(self, x):
        return x


class Pair(nn.Module):
    def forward(self, x):
        return x, x


class Add(nn.Module):
    def forward(self, x, y):
        return x + y


class Dict(nn.Module):
    def forward(self, x):
        return {"image": x, "score": x.mean()}


def test_no_transformations_returns_the_module():
    module = Identity()
    assert edgebatch.to_channel_last_io(module) is module


@pytest.mark.parametrize("shape,expected", [
    ((1, 10, 10, 3), (1, 3, 10, 10)),
    ((2, 10, 4), (2, 4, 10)),
    ((1, 6, 7, 8, 3), (1, 3, 6, 7, 8)),
], ids=["rank4", "rank3", "rank5"])
def test_args(shape, expected):
    y = edgebatch.to_channel_last_io(Identity(), args=[0])(torch.rand(shape))
    assert y.shape == expected


@pytest.mark.parametrize("shape,expected", [
    ((1, 3, 10, 10), (1, 10, 10, 3)),
    ((2, 4, 10), (2, 10, 4)),
    ((1, 3, 6, 7, 8), (1, 6, 7, 8, 3)),
], ids=["rank4", "rank3", "rank5"])
def test_outputs(shape, expected):
    y = edgebatch.to_channel_last_io(Identity(), outputs=[0])(torch.rand(shape))
    assert y.shape == expected


def test_args_and_outputs_round_trip():
    x = torch.rand(1, 10, 10, 3)
    assert torch.equal(edgebatch.to_channel_last_io(Identity(), args=[0], outputs=[0])(x), x)


def test_chained_wrappers():
    m = edgebatch.to_channel_last_io(Identity(), args=[0])
    m = edgebatch.to_channel_last_io(m, outputs=[0])
    assert m(torch.rand(1, 10, 10, 3)).shape == (1, 10, 10, 3)


def test_several_args_and_some_outputs():
    y = edgebatch.to_channel_last_io(Add(), args=[0, 1])(torch.rand(1, 5, 5, 3), torch.rand(1, 5, 5, 3))
    assert y.shape == (1, 3, 5, 5)
    a, b = edgebatch.to_channel_last_io(Pair(), outputs=[0])(torch.rand(1, 3, 5, 6))
    assert a.shape == (1, 5, 6, 3) and b.shape == (1, 3, 5, 6)


def test_dict_outputs_count_in_flattened_order():
    out = edgebatch.to_channel_last_io(Dict(), outputs=[0])(torch.rand(1, 3, 5, 6))
    assert out["image"].shape == (1, 5, 6, 3) and out["score"].shape == ()


def test_rank_below_three_is_an_error():
    with pytest.raises(ValueError, match="rank 2"):
        edgebatch.to_channel_last_io(Identity(), args=[0])(torch.rand(3, 4))
    with pytest.raises(IndexError):
        edgebatch.to_channel_last_io(Identity(), args=[1])(torch.rand(1, 3, 4))


def test_eval_mode_follows_the_module():
    module = nn.Conv2d(3, 3, 1).eval()
    assert not edgebatch.to_channel_last_io(module, args=[0]).training


@pytest.mark.parametrize("module,shape", [
    (nn.Sequential(nn.Conv1d(4, 6, 3, padding=1), nn.ReLU(), nn.Conv1d(6, 4, 3)), (1, 4, 12)),
    (nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(),
                   nn.MaxPool2d(2), nn.Conv2d(6, 4, 1)), (2, 3, 8, 8)),
    (nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 2, 1)), (1, 3, 4, 5, 6)),
], ids=["rank3", "rank4", "rank5"])
def test_channel_last_io_converts_without_transposes(module, shape):
    torch.manual_seed(0)
    wrapped = edgebatch.to_channel_last_io(module.eval(), args=[0], outputs=[0])
    x = torch.randn(shape).permute(0, *range(2, len(shape)), 1).contiguous()
    model = assert_converts(wrapped, (x,))
    assert summarize(model.flatbuffer).transposes == 0
