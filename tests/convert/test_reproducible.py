"""The same module, inputs and flags give the same .tflite bytes, call after call.

TensorFlow's converter places the weights it writes after the flatbuffer in an order
that changes from run to run; edgebatch re-lays them canonically.
"""

from __future__ import annotations

import hashlib

import pytest
import torch

import edgebatch
from edgebatch.quantize.quant_config import QuantConfig
from model_zoo.examples import TinyCNN


def conversions(make, times: int = 2) -> set[str]:
    return {hashlib.sha256(make().tflite_model()).hexdigest() for _ in range(times)}


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return TinyCNN().eval(), (torch.randn(1, 3, 32, 32),)


@pytest.mark.parametrize("preset", [None, "drq", "int8"])
def test_a_conversion_repeats_byte_for_byte(cnn, preset):
    module, args = cnn
    calibration = [(torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(i)),)
                   for i in range(4)]

    def convert():
        quant = None
        if preset:
            quant = QuantConfig.from_preset(
                preset, calibration_data=calibration if preset == "int8" else None)
        return edgebatch.convert(module, args, quant_config=quant)

    assert len(conversions(convert)) == 1


def test_a_multi_signature_conversion_repeats_byte_for_byte(cnn):
    module, args = cnn

    def convert():
        return (edgebatch.signature("small", module, args)
                .signature("large", module, (torch.randn(2, 3, 32, 32),)).convert())

    assert len(conversions(convert)) == 1
