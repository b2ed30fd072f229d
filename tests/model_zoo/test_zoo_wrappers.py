import pytest
import torch
from torch import nn

from model_zoo import FixedExtraArgs, KwargsToPositional, SegmentationOut, SelectOutput


class Outputs(nn.Module):
    def forward(self, x, y=None, *, scale=1.0):
        y = torch.zeros_like(x) if y is None else y
        return {"out": x * scale + y, "aux": x - y}


class Pair(nn.Module):
    def forward(self, x):
        return x + 1, None


def test_select_output_by_index_and_key():
    x = torch.ones(2)
    assert torch.equal(SelectOutput(Pair(), 0)(x), x + 1)
    assert torch.equal(SelectOutput(Outputs(), "aux")(x, x), torch.zeros(2))
    assert torch.equal(SegmentationOut(Outputs())(x), x)


def test_kwargs_to_positional():
    model = KwargsToPositional(Outputs(), ["x", "y", "scale"])
    x = torch.ones(2)
    assert torch.equal(model(x, x, torch.tensor(3.0))["out"], torch.full((2,), 4.0))
    with pytest.raises(TypeError, match="expected 3 inputs"):
        model(x)


def test_fixed_extra_args_keeps_tensors_as_non_persistent_buffers():
    y = torch.full((2,), 2.0)
    model = FixedExtraArgs(Outputs(), args=(y,), kwargs={"scale": 3.0})
    assert torch.equal(model(torch.ones(2))["out"], torch.full((2,), 5.0))
    assert dict(model.named_buffers()).keys() == {"arg_0"}
    assert "arg_0" not in model.state_dict()
    assert model.double().arg_0.dtype == torch.float64


def test_wrappers_export():
    x = torch.randn(2, 3)
    fixed = FixedExtraArgs(Outputs(), kwargs={"scale": 2.0})
    model = SelectOutput(KwargsToPositional(fixed, ["x", "y"]), "out")
    exported = torch.export.export(model, (x, x)).module()
    torch.testing.assert_close(exported(x, x), 3 * x)
