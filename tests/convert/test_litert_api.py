"""The public behaviours of Google's litert_torch 0.10 API, ported: code written against it
must run after swapping the import. Written for edgebatch from litert_torch's documented
behaviour; each test names the behaviour it keeps."""

import dataclasses
import importlib

import numpy as np
import pytest
import torch

import edgebatch
from edgebatch.errors import EdgeBatchError, ModelLoadError, UnknownSignatureError

# litert_torch 0.10's public names: its top level, and its debug and quantize packages
# (with the two quantize modules its documentation imports from).
LITERT_TORCH_NAMES = {
    "": ["convert", "signature", "Converter", "load", "Model", "to_channel_last_io", "config",
         "converter_v2", "experimental_add_compilation_backend", "debug", "quantize", "model",
         "__version__"],
    "debug": ["find_culprits", "_search_model"],
    "quantize": ["PT2EQuantizer"],
    "quantize.pt2e_quantizer": ["PT2EQuantizer", "get_symmetric_quantization_config"],
    "quantize.quant_config": ["QuantConfig"],
    "converter_v2": ["convert", "signature", "Converter", "is_supported", "export_to_dir",
                     "convert_signatures_v2", "ParameterRegistry"],
    "model": ["Model", "LiteRTModel", "DEFAULT_SIGNATURE_NAME"],
}


@pytest.mark.parametrize("package", sorted(LITERT_TORCH_NAMES))
def test_every_public_name_exists(package):
    module = importlib.import_module(f"edgebatch.{package}" if package else "edgebatch")
    missing = [name for name in LITERT_TORCH_NAMES[package] if not hasattr(module, name)]
    assert missing == []


def test_names_without_an_equivalent_say_what_to_use_instead():
    from edgebatch.quantize.quant_config import QuantConfig

    with pytest.raises(NotImplementedError, match="ai_edge_litert.aot"):
        edgebatch.experimental_add_compilation_backend()
    with pytest.raises(NotImplementedError, match="ai_edge_litert.aot"):
        edgebatch.Converter().experimental_add_compilation_backend()
    for name in ("export_to_dir", "convert_signatures_v2", "ParameterRegistry"):
        with pytest.raises(NotImplementedError, match="edgebatch.convert"):
            getattr(edgebatch.converter_v2, name)()
    with pytest.raises(NotImplementedError, match="preset="):
        QuantConfig(generative_recipe=object())
    with pytest.raises(NotImplementedError, match="to_channel_last_io"):
        edgebatch.config.layout_optimize_partitioner = "GREEDY"
    with pytest.raises(NotImplementedError):
        edgebatch.config.resource_constant_numel_threshold  # noqa: B018
    edgebatch.config.show_progress = False  # what edgebatch does anyway
    assert edgebatch.config.in_oss and edgebatch.converter_v2.is_supported()


class Add(torch.nn.Module):
    def forward(self, x, y):
        return x + y


def test_kwargs_only_conversion():
    x, y = torch.randn(10, 10), torch.randn(10, 10)
    model = edgebatch.convert(Add().eval(), sample_kwargs=dict(x=x, y=y))
    assert sorted(model.signature_io()["inputs"]) == ["x", "y"]
    np.testing.assert_allclose(model(x=x, y=y), (x + y).numpy(), rtol=1e-6)


def test_args_and_kwargs_conversion():
    x, y = torch.randn(10, 10), torch.randn(10, 10)
    model = edgebatch.convert(Add().eval(), (x,), dict(y=y))
    np.testing.assert_allclose(model(x, y=y), (x + y).numpy(), rtol=1e-6)


def test_module_without_sample_inputs_is_a_value_error():
    with pytest.raises(ValueError, match="sample_args"):
        edgebatch.convert(Add().eval())


@dataclasses.dataclass
class Container:
    data_1: torch.Tensor
    data_2: tuple


torch.export.register_dataclass(Container, serialized_type_name="edgebatch_test.Container")


def test_nested_kwargs_are_named_by_their_path():
    class Nested(torch.nn.Module):
        def forward(self, x, y, z):
            return x + y + z.data_1 + z.data_2[0] + z.data_2[1]

    args = (torch.randn(3, 3),)
    kwargs = dict(y=torch.randn(3, 3),
                  z=Container(torch.randn(3, 3), (torch.randn(3, 3), torch.randn(3, 3))))
    model = edgebatch.convert(Nested().eval(), args, kwargs)
    flat = {"args_0": args[0], "y": kwargs["y"], "z_data_1": kwargs["z"].data_1,
            "z_data_2_0": kwargs["z"].data_2[0], "z_data_2_1": kwargs["z"].data_2[1]}
    assert sorted(model.signature_io()["inputs"]) == sorted(flat)
    np.testing.assert_allclose(model(**flat), Nested()(*args, **kwargs).numpy(), rtol=1e-6)


def test_nested_dict_outputs_are_named_by_their_path():
    class NestedOut(torch.nn.Module):
        def forward(self, x, y, z):
            return {"x": x, "y": Container(data_1=y, data_2=[y, z])}

    x, y, z = torch.randn(4), torch.randn(4), torch.randn(4)
    out = edgebatch.convert(NestedOut().eval(), (x, y, z))(args_0=x, args_1=y, args_2=z)
    assert sorted(out) == ["x", "y_data_1", "y_data_2_0", "y_data_2_1"]
    np.testing.assert_allclose(out["y_data_2_1"], z.numpy())


def test_input_mutation_and_bfloat16_inputs_convert():
    class Mutates(torch.nn.Module):
        def forward(self, x):
            x /= 1
            return x + 10

    x = torch.randn(5)
    np.testing.assert_allclose(edgebatch.convert(Mutates().eval(), (x.clone(),))(x),
                               (x + 10).numpy(), rtol=1e-6)
    edgebatch.convert(torch.nn.Identity().eval(), (torch.randn(3, 3).to(torch.bfloat16),))


class FullyConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 1, 1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x)))


def fully_conv():
    torch.manual_seed(0)
    return FullyConv().eval(), torch.randn(2, 3, 12, 12), torch.randn(2, 3, 24, 24)


def assert_matches(model, module, x, **call):
    np.testing.assert_allclose(model(x, **call), module(x).detach().numpy(), atol=1e-5)


def test_signature_plus_default_signature():
    module, small, large = fully_conv()
    model = edgebatch.signature("large_input", module, (large,)).convert(module, (small,))
    assert_matches(model, module, small)
    assert_matches(model, module, large, signature_name="large_input")


def test_several_signatures_and_no_default_need_a_name():
    module, small, large = fully_conv()
    model = (edgebatch.signature("input", module, (small,))
             .signature("large_input", module, (large,)).convert())
    with pytest.raises(ValueError, match="'input', 'large_input'"):
        model(small)
    assert_matches(model, module, small, signature_name="input")
    assert_matches(model, module, large, signature_name="large_input")
    with pytest.raises(UnknownSignatureError) as info:  # a KeyError and a ValueError
        model(small, signature_name="medium")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)


def test_the_only_signature_needs_no_name():
    module, small, _ = fully_conv()
    model = edgebatch.Converter().add_signature("encode", module, (small,)).convert()
    assert_matches(model, module, small)
    assert model.signature_io()["inputs"] == ["args_0"]


def test_signatures_of_separate_modules():
    conv, small, _ = fully_conv()
    linear = torch.nn.Linear(10, 4).eval()
    vector = torch.randn(1, 10)
    model = (edgebatch.signature("fully_conv", conv, (small,))
             .signature("fully_connected", linear, (vector,)).convert())
    assert_matches(model, conv, small, signature_name="fully_conv")
    assert_matches(model, linear, vector, signature_name="fully_connected")


def test_a_signature_name_twice_is_a_value_error():
    module, small, _ = fully_conv()
    converter = edgebatch.signature("a", module, (small,))
    with pytest.raises(ValueError, match="twice"):
        converter.signature("a", module, (small,))


def test_loading_a_file_that_is_not_tflite_is_a_value_error(tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"definitely not a flatbuffer")
    with pytest.raises(ValueError) as info:
        edgebatch.load(path)
    assert isinstance(info.value, ModelLoadError) and isinstance(info.value, EdgeBatchError)


def test_model_object(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    x = torch.randn(2, 3)
    model = edgebatch.convert(torch.nn.Linear(3, 2).eval(), (x,))
    assert isinstance(model, edgebatch.Model) and isinstance(model, edgebatch.model.LiteRTModel)
    assert model.model_content() == model.flatbuffer
    expected = model(x)
    model.set_interpreter_builder(lambda: Interpreter(model_content=model.model_content(),
                                                      num_threads=1))
    assert model.use_interpreter_runtime() is model
    np.testing.assert_array_equal(model(x), expected)
    with pytest.raises(NotImplementedError, match="CompiledModel"):
        model.use_compiled_runtime()
    path = tmp_path / "linear.tflite"
    model.export(path)
    np.testing.assert_array_equal(edgebatch.model.Model.load(path)(x), expected)


def test_litert_convert_options(tmp_path):
    x = torch.randn(1, 4)
    module = torch.nn.Linear(4, 4).eval()
    path = tmp_path / "out" / "linear.tflite"
    model = edgebatch.convert(module, (x,), output_file_path=path, enable_x64=False,
                              lightweight_conversion=False, _litert_converter_flags={})
    assert path.read_bytes() == model.flatbuffer
    with pytest.raises(NotImplementedError, match="int64"):
        edgebatch.convert(module, (x,), enable_x64=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_option'"):
        edgebatch.convert(module, (x,), no_such_option=1)
    assert edgebatch.converter_v2.convert is edgebatch.convert
