"""quant.keep_float / QuantConfig(keep_float=...): int8-preset ops that stay float.

Each test checks the op kinds of the .tflite (edgebatch.quantize.classify_ops), not the
config: a layer asked to stay float must come out as a float kernel.
"""

from __future__ import annotations

import collections

import pytest
import torch

import edgebatch
from edgebatch.errors import RecipeError
from edgebatch.quantize import QuantConfig, classify_ops
from edgebatch.quantize.keep_float import (UnknownModuleError, layer_sensitivity,
                                           parse_keep_float)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.a = torch.nn.Conv2d(3, 8, 3)
        self.act = torch.nn.Hardswish()
        self.b = torch.nn.Conv2d(8, 8, 3)
        self.c = torch.nn.Conv2d(8, 8, 1)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.c(self.b(self.act(self.a(x)))).mean((2, 3)))


def _calibration(n=4):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(1, 3, 12, 12, generator=g),) for _ in range(n)]


def _kinds(model) -> collections.Counter:
    return collections.Counter((i.op, i.kind) for i in classify_ops(model.flatbuffer))


def _convert(module, keep_float):
    config = QuantConfig(preset="int8", calibration_data=_calibration(), float_fallback=False,
                         keep_float=keep_float)
    model = edgebatch.convert(module.eval(), _calibration(1)[0], quant_config=config)
    return model, config


def test_without_keep_float_every_layer_is_int8():
    kinds = _kinds(_convert(Net(), ())[0])
    assert kinds[("CONV_2D", "int8")] == 3 and kinds[("FULLY_CONNECTED", "int8")] == 1
    assert kinds[("HARD_SWISH", "int8")] == 1


def test_an_op_type_stays_float():
    model, config = _convert(Net(), ["HARD_SWISH"])
    kinds = _kinds(model)
    assert kinds[("HARD_SWISH", "float")] == 1 and kinds[("HARD_SWISH", "int8")] == 0
    assert kinds[("CONV_2D", "int8")] == 3
    assert config.kept_float == ["HARD_SWISH"]


def test_module_names_stay_float_and_the_rest_int8():
    # "fc" computes the signature's output, a tensor TF renames: found through the FX output
    model, config = _convert(Net(), ["b", "fc"])
    kinds = _kinds(model)
    assert kinds[("CONV_2D", "float")] == 1 and kinds[("CONV_2D", "int8")] == 2
    assert kinds[("FULLY_CONNECTED", "float")] == 1
    assert config.kept_float == ["b", "fc"]


def test_auto_keeps_exactly_k_layers_and_the_outlier_one():
    net = Net()
    with torch.no_grad():
        net.b.weight[0, 0, 0, 0] = 40.0  # one huge weight: per-channel int8 loses channel 0
    ranking = layer_sensitivity(net, _calibration())
    assert ranking[0][0] == "b" and len(ranking) == 4
    model, config = _convert(net, "auto:2")
    assert len(config.keep_float_auto) == 2 and config.keep_float_auto[0][0] == "b"
    assert config.kept_float == [name for name, _ in config.keep_float_auto]
    kinds = _kinds(model)
    float_layers = kinds[("CONV_2D", "float")] + kinds[("FULLY_CONNECTED", "float")]
    assert float_layers == 2


def test_auto_0_keeps_nothing():
    model, config = _convert(Net(), "auto:0")
    assert config.kept_float == [] and config.keep_float_auto == []
    assert _kinds(model)[("CONV_2D", "float")] == 0


def test_an_unknown_module_names_the_close_matches():
    with pytest.raises(UnknownModuleError, match=r"no submodule 'fcc' \(close matches: fc"):
        _convert(Net(), ["fcc"])


@pytest.mark.parametrize("spec, message", [
    ("auto:x", "is not auto:K"),
    ("auto:1,auto:2", "give auto:K once"),
    (["HARD_SWISHH"], "no TFLite op type.*HARD_SWISH"),
    (["features..0"], "neither a TFLite op type"),
    ([3], "entries are op types"),
])
def test_malformed_values_are_refused(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_keep_float(spec)


def test_keep_float_needs_the_int8_preset():
    with pytest.raises(ValueError, match="int8 preset"):
        QuantConfig(preset="drq", keep_float=["CONV_2D"])


@pytest.mark.parametrize("value, message", [
    ("auto:two", "quant.keep_float: 'auto:two' is not auto:K"),
    ("[conv..1]", "quant.keep_float: 'conv..1' is neither"),
])
def test_a_bad_recipe_value_is_a_recipe_error(value, message):
    from tests.recipe.compose import compose_config as compose
    from edgebatch.recipe.checks import check_values

    cfg = compose(["+recipe=tiny_cnn_nhwc_int8", f"quant.keep_float={value}"])
    with pytest.raises(RecipeError) as error:
        check_values(cfg)
    assert str(error.value).startswith(message)


def test_keep_float_in_a_recipe_needs_int8():
    from tests.recipe.compose import compose_config as compose
    from edgebatch.recipe.checks import check_values

    cfg = compose(["+recipe=tiny_cnn", "quant=drq", "quant.keep_float=auto:1"])
    with pytest.raises(RecipeError, match="works with the int8 preset"):
        check_values(cfg)
