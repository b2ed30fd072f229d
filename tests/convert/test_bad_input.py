"""Bad input to `convert` gets one typed error whose first line says what to do."""

import numpy as np
import pytest
import torch

import edgebatch
from edgebatch.errors import (
    InputError,
    InputTypeError,
    ModelTooLargeError,
    TrainingModeError,
)


def first_line(info) -> str:
    return str(info.value).splitlines()[0]


class Scale(torch.nn.Module):
    def forward(self, x):
        return x * 2


class Dropped(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)
        self.drop = torch.nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.linear(x))


def test_failing_training_mode_says_call_eval():
    with pytest.warns(UserWarning, match="training mode"):
        with pytest.raises(TrainingModeError) as info:
            edgebatch.convert(Dropped().train(), (torch.randn(1, 4),))
    assert first_line(info) == (
        "signature 'serving_default': the module is in training mode, and its training-only "
        "ops (native_dropout) do not convert; call module.eval() before converting.")
    assert "LoweringError: lowering aten.native_dropout.default" in str(info.value)
    assert "train=True draws a random mask" in str(info.value)


def test_training_submodule_is_named():
    module = Dropped().eval()
    module.drop.train()
    with pytest.warns(UserWarning, match=r"submodule 'drop' \(Dropout\) is in training mode"):
        with pytest.raises(TrainingModeError, match=r"^signature 'serving_default': submodule "
                                                    r"'drop' \(Dropout\) is in training mode"):
            edgebatch.convert(module, (torch.randn(1, 4),))


class ReturnsNone(torch.nn.Module):
    def forward(self, x):
        return None


def test_module_without_outputs():
    with pytest.raises(InputError) as info:
        edgebatch.convert(ReturnsNone().eval(), (torch.randn(3),))
    assert first_line(info) == (
        "signature 'serving_default': ReturnsNone.forward returns no tensor (only None); "
        "a TFLite model needs at least one output. Return the tensors the model should compute.")


class NoneInTheMiddle(torch.nn.Module):
    def forward(self, x):
        return {"mask": None, "features": x * 2}


def test_none_among_outputs_is_dropped_with_a_warning():
    x = torch.randn(3)
    with pytest.warns(UserWarning, match=r"outputs \['mask'\] are None"):
        model = edgebatch.convert(NoneInTheMiddle().eval(), (x,))
    out = model(x)
    assert list(out) == ["features"]
    np.testing.assert_allclose(out["features"], (x * 2).numpy())


def test_complex_sample_input():
    with pytest.raises(InputTypeError) as info:
        edgebatch.convert(Scale().eval(), (torch.randn(3, dtype=torch.complex64),))
    assert first_line(info) == (
        "signature 'serving_default': sample input 'args_0' is torch.complex64; TFLite has no "
        "complex inputs. Pass the real and imaginary parts as a real tensor "
        "(torch.view_as_real(x)).")


class Nested(torch.nn.Module):
    def forward(self, nested, table):
        a, (b, c) = nested
        return a + b * c * table["scale"]


def test_nested_tensor_inputs_are_flattened():
    nested = [torch.randn(3), (torch.randn(3), torch.randn(3))]
    table = {"scale": torch.randn(3)}
    model = edgebatch.convert(Nested().eval(), (nested, table))
    assert sorted(model.signature_io()["inputs"]) == ["args_0", "args_1", "args_2", "args_3"]
    np.testing.assert_allclose(model(nested, table), Nested()(nested, table).numpy(), rtol=1e-6)


class WithScales(torch.nn.Module):
    def forward(self, x, scales):
        return x * scales[0]


def test_python_float_list_sample_input():
    with pytest.raises(InputTypeError) as info:
        edgebatch.convert(WithScales().eval(), (torch.randn(3), [2.0, 3.0]))
    assert first_line(info).startswith(
        "signature 'serving_default': sample input sample_args[1] is a Python list of floats; "
        "torch.export would bake its values into the model")


def test_numpy_sample_input():
    with pytest.raises(InputTypeError, match="sample input 'args_0' is a numpy.ndarray; "
                                             r"torch.export traces torch tensors only"):
        edgebatch.convert(Scale().eval(), (np.ones(3, np.float32),))


def test_zero_size_sample_input():
    with pytest.raises(InputError) as info:
        edgebatch.convert(Scale().eval(), (torch.randn(0, 3),))
    assert first_line(info).startswith(
        "signature 'serving_default': sample input 'args_0' has the zero-size shape [0, 3]; "
        "LiteRT cannot run a model on it")


def test_quant_config_string():
    with pytest.raises(TypeError) as info:
        edgebatch.convert(Scale().eval(), (torch.randn(3),), quant_config="drq")
    assert isinstance(info.value, InputTypeError)
    assert first_line(info) == ("quant_config must be an edgebatch QuantConfig, got str 'drq'; "
                                "pass QuantConfig(preset='drq')")


@pytest.mark.parametrize("module, hint", [
    (lambda x: x * 2, "wrap it in a torch.nn.Module whose forward calls it"),
    (torch.export.export(Scale(), (torch.randn(3),)),
     "pass program.module() (the exported program as a module)"),
])
def test_module_that_is_not_a_module(module, hint):
    with pytest.raises(InputTypeError) as info:
        edgebatch.convert(module, (torch.randn(3),))
    assert isinstance(info.value, TypeError)
    assert first_line(info).startswith("the module to convert must be a torch.nn.Module, got ")
    assert first_line(info).endswith(hint)


def test_exported_program_module_converts():
    program = torch.export.export(Scale(), (torch.randn(3),))
    x = torch.randn(3)
    np.testing.assert_allclose(edgebatch.convert(program.module(), (x,))(x), (x * 2).numpy())


@pytest.mark.parametrize("flags, message", [
    ({"optimizationz": []}, "unknown converter flag 'optimizationz' in "
                            "_ai_edge_converter_flags; did you mean 'optimizations'?"),
    ({"target_spec": {"suported_ops": []}},
     "unknown converter flag 'target_spec.suported_ops' in _ai_edge_converter_flags; "
     "did you mean 'target_spec.supported_ops'?"),
    ({"optimizations": {"default": True}},
     "converter flag 'optimizations' takes a value, not a dict of nested flags"),
])
def test_unknown_converter_flag(flags, message):
    with pytest.raises(InputError) as info:
        edgebatch.convert(Scale().eval(), (torch.randn(3),), _ai_edge_converter_flags=flags)
    assert first_line(info).startswith(message)


class HugeConstant(torch.nn.Module):
    def forward(self, x):
        return torch.full((60000, 60000), 1.0) + x


def test_huge_constant_fails_fast():
    with pytest.raises(ModelTooLargeError) as info:
        edgebatch.convert(HugeConstant().eval(), (torch.randn(1),))
    assert first_line(info).startswith(
        "signature 'serving_default': the model's constants take 14.4 GB, more than the 2 GB a "
        "TFLite flatbuffer holds. Compute large tensors from the inputs at run time")
    assert "'full', float32 [60000, 60000], 14.4 GB, at " in first_line(info)


def test_huge_weight_fails_fast():
    huge = torch.nn.Linear(60000, 60000, device="meta").eval()  # 14.4 GB, never allocated
    with pytest.raises(ModelTooLargeError, match="the model's constants take 14.4 GB"):
        edgebatch.convert(huge, (torch.randn(1, 60000, device="meta"),))
