"""A converted model's call checks its inputs against the signature before LiteRT runs."""

import numpy as np
import pytest
import torch

import edgebatch
from edgebatch.errors import InferenceError, InputError, InputTypeError, UnknownSignatureError


def first_line(info) -> str:
    return str(info.value).splitlines()[0]


class Embed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.table = torch.nn.Parameter(torch.randn(10, 4))

    def forward(self, ids):
        return self.table[ids]


@pytest.fixture(scope="module")
def cnn():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU()).eval()
    return edgebatch.convert(module, (torch.randn(1, 3, 8, 8),))


@pytest.fixture(scope="module")
def dynamic_mlp():
    module = torch.nn.Linear(8, 2).eval()
    batch = torch.export.Dim("batch", min=1, max=32)
    return edgebatch.convert(module, (torch.randn(2, 8),), dynamic_shapes=({0: batch},))


@pytest.fixture(scope="module")
def embed():
    torch.manual_seed(0)
    return edgebatch.convert(Embed().eval(), (torch.tensor([[1, 2, 3]]),))


def test_wrong_rank(cnn):
    with pytest.raises(InputError) as info:
        cnn(np.zeros((3, 8, 8), np.float32))
    assert first_line(info) == ("input 'args_0' of signature 'serving_default' expects shape "
                                "[1, 3, 8, 8] (float32), got [3, 8, 8]")


def test_wrong_static_dimension_does_not_reach_xnnpack(cnn):
    with pytest.raises(InputError) as info:
        cnn(torch.zeros(1, 3, 8, 9))
    assert first_line(info) == ("input 'args_0' of signature 'serving_default' expects shape "
                                "[1, 3, 8, 8] (float32), got [1, 3, 8, 9]")


def test_missing_and_unknown_inputs_are_type_errors(cnn):
    with pytest.raises(InputTypeError) as info:
        cnn()
    assert isinstance(info.value, TypeError)
    assert first_line(info) == ("missing inputs for signature 'serving_default': ['args_0'] "
                                "(expects args_0: [1, 3, 8, 8] float32)")
    with pytest.raises(TypeError, match="signature 'serving_default' has no input 'args_1'; "
                                        r"its inputs are \['args_0'\]"):
        cnn(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8))


def test_python_list_is_not_an_input(dynamic_mlp):
    with pytest.raises(InputTypeError, match=r"the call's Python numbers \(1.0, 2.0, 3.0, 4.0, "
                                             r"\.\.\.\) are not inputs: pass arrays or tensors"):
        dynamic_mlp([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])


def test_complex_input(cnn):
    with pytest.raises(InputTypeError) as info:
        cnn(torch.zeros(1, 3, 8, 8, dtype=torch.complex64))
    assert first_line(info).startswith("input 'args_0' of signature 'serving_default' got a "
                                       "complex64 array; TFLite has no complex inputs.")


def test_dynamic_dimension_takes_any_size_but_not_any_rank(dynamic_mlp):
    assert dynamic_mlp(np.ones((5, 8), np.float32)).shape == (5, 2)
    with pytest.raises(InputError) as info:
        dynamic_mlp(np.ones(8, np.float32))  # LiteRT alone would run this as a batch of one
    assert first_line(info) == ("input 'args_0' of signature 'serving_default' expects shape "
                                "[?, 8] (float32), got [8]")
    with pytest.raises(InputError, match=r"got the zero-size shape \[0, 8\]"):
        dynamic_mlp(np.ones((0, 8), np.float32))


def test_integer_input_rejects_values_a_cast_would_change(embed):
    np.testing.assert_array_equal(embed(torch.tensor([[1, 2, 3]])),
                                  embed(np.array([[1.0, 2.0, 3.0]])))
    with pytest.raises(InputError) as info:
        embed(np.array([[1.0, 2.5, 3.0]]))
    assert first_line(info) == ("input 'args_0' of signature 'serving_default' is int32; got the "
                                "non-integral value 2.5. Round or cast the input to int32 "
                                "yourself.")
    with pytest.raises(InputError) as info:
        embed(torch.tensor([[1, 2, 2**33]]))
    assert first_line(info).startswith("input 'args_0' of signature 'serving_default' is int32, "
                                       "which holds -2147483648..2147483647; got 8589934592.")


class Gather(torch.nn.Module):
    def forward(self, x, index):
        return torch.gather(x, 1, index)


def test_runtime_failure_is_typed():
    model = edgebatch.convert(Gather().eval(), (torch.randn(2, 3), torch.tensor([[0, 1], [2, 0]])))
    with pytest.raises(InferenceError) as info:
        model(torch.randn(2, 3), torch.tensor([[0, 1], [2, 50]]))  # no element 50 to gather
    assert isinstance(info.value, RuntimeError)
    assert first_line(info).startswith("LiteRT failed to run signature 'serving_default': ")


def test_unknown_signature(cnn):
    with pytest.raises(UnknownSignatureError) as info:
        cnn(torch.zeros(1, 3, 8, 8), signature_name="encode")
    assert isinstance(info.value, KeyError)
    assert str(info.value) == "no signature 'encode'; the model has ['serving_default']"
