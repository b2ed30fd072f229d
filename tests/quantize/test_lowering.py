"""PT2E quantize/dequantize graphs → real int8 TFLite kernels, per op family.

Each test converts a small PT2E-quantized module exactly as users do and checks that
the kernels are int8 (not float with QUANTIZE/DEQUANTIZE around them), that no weight
is transposed or dequantized at run time, and that the .tflite matches the quantized
PyTorch module (to the rounding of TFLite's int32 bias).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import edgebatch
from edgebatch.flatbuffer_summary import summarize
from edgebatch.quantize.quant_config import QuantConfig
from edgebatch.quantize.report import classify_ops, run_tflite
from tests.quantize.helpers import CNN_SHAPE, pt2e, pt2e_qat, seeded_batches, small_cnn

qd = torch.ops.quantized_decomposed


def convert_pt2e_module(module, shape, *, fold=False, calibration=4, **kwargs):
    """PT2E-quantize and convert; the file is the lowering's own (no float fallback for ops
    XNNPACK leaves out: tests/quantize/test_hybrid_kernels.py covers that rewrite)."""
    batches = seeded_batches(shape, calibration)
    quantized, quantizer = pt2e(module.eval(), batches[0], calibration=batches, fold=fold,
                                **kwargs)
    model = edgebatch.convert(quantized, batches[0], quant_config=QuantConfig(
        pt2e_quantizer=quantizer, float_fallback=False))
    return quantized, model


def kinds(model) -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for info in classify_ops(model.flatbuffer):
        table.setdefault(info.op, set()).add(info.kind)
    return table


def assert_matches_quantized(model, quantized, shape, *, max_lsb: float = 1.0, seed: int = 7):
    """TFLite output within `max_lsb` output quantization steps of quantized PyTorch."""
    scale = _output_scale(quantized)
    for (x,) in seeded_batches(shape, 2, seed=seed):
        with torch.no_grad():
            expected = quantized(x).numpy()
        actual = run_tflite(model, (x,))[0]
        np.testing.assert_allclose(actual, expected, atol=max_lsb * scale + 1e-6, rtol=0)


def _output_scale(quantized) -> float:
    output = next(n for n in quantized.graph.nodes if n.op == "output")
    node = output.args[0][0] if isinstance(output.args[0], (tuple, list)) else output.args[0]
    return float(node.args[1]) if node.target == qd.dequantize_per_tensor.default else 1e-3


def assert_no_weight_transforms(model):
    assert summarize(model.flatbuffer).ops_on_constants == []


@pytest.mark.parametrize("fold", [False, True])
def test_cnn_becomes_int8_kernels(fold):
    quantized, model = convert_pt2e_module(small_cnn(), CNN_SHAPE, fold=fold)
    table = kinds(model)
    for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MAX_POOL_2D", "FULLY_CONNECTED"):
        assert table.get(op) == {"int8"}, (op, table)
    summary = summarize(model.flatbuffer)
    assert summary.int8_weights >= 4  # conv, depthwise, 1x1 conv, linear
    assert "float32" not in summary.weight_dtypes  # biases are int32, weights int8
    assert_no_weight_transforms(model)
    assert table["QUANTIZE"] == {"quantize"} and table["DEQUANTIZE"] == {"dequantize"}
    assert_matches_quantized(model, quantized, CNN_SHAPE, max_lsb=2)


def test_int8_weights_are_the_pt2e_integers():
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()).eval()
    quantized, model = convert_pt2e_module(module, (1, 3, 8, 8))
    (q,) = [n for n in quantized.graph.nodes if n.target == qd.quantize_per_channel.default]
    get = lambda n: torch.fx.graph_module._get_attr(quantized, n.target)  # noqa: E731
    weight, scales, zero_points = get(q.args[0]), get(q.args[1]), get(q.args[2])
    expected = torch.ops.quantized_decomposed.quantize_per_channel(
        weight, scales, zero_points, 0, -127, 127, torch.int8).numpy()
    interpreter = model._get_interpreter()
    conv = next(d for d in interpreter._get_ops_details() if d["op_name"] == "CONV_2D")
    details = interpreter._get_tensor_details(conv["inputs"][1], 0)
    actual = interpreter.get_tensor(conv["inputs"][1])  # OHWI
    assert details["dtype"] == np.int8
    np.testing.assert_array_equal(actual, expected.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(details["quantization_parameters"]["scales"], scales.numpy(),
                               rtol=1e-6)


class LinearStack(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 32)
        self.b = nn.Linear(32, 8)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


@pytest.mark.parametrize("per_channel", [True, False])
def test_linear_becomes_int8_fully_connected(per_channel):
    torch.manual_seed(0)
    quantized, model = convert_pt2e_module(LinearStack(), (2, 16), per_channel=per_channel)
    assert kinds(model)["FULLY_CONNECTED"] == {"int8"}
    assert_no_weight_transforms(model)
    assert_matches_quantized(model, quantized, (2, 16))


class Elementwise(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        y = self.conv(x)
        z = torch.cat([torch.relu(x + y), x * y], 1)
        return nn.functional.avg_pool2d(z, 2)


def test_add_mul_cat_pool_stay_int8():
    torch.manual_seed(0)
    quantized, model = convert_pt2e_module(Elementwise(), (1, 4, 8, 8))
    table = kinds(model)
    for op in ("ADD", "MUL", "CONCATENATION", "AVERAGE_POOL_2D"):
        assert table.get(op) == {"int8"}, (op, table)
    assert_matches_quantized(model, quantized, (1, 4, 8, 8))


class FixedOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        y = self.fc(x)
        return torch.sigmoid(y) + nn.functional.hardsigmoid(y), torch.softmax(y, -1)


def test_fixed_qparams_ops_convert_to_int8():
    torch.manual_seed(0)
    quantized, model = convert_pt2e_module(FixedOps(), (2, 8))
    table = kinds(model)
    assert table["LOGISTIC"] == {"int8"} and table["SOFTMAX"] == {"int8"}
    interpreter = model._get_interpreter()
    for d in interpreter._get_ops_details():
        if d["op_name"] in ("LOGISTIC", "SOFTMAX"):
            scale, zero_point = interpreter._get_tensor_details(d["outputs"][0], 0)["quantization"]
            assert scale == pytest.approx(1 / 256) and zero_point == -128
    x = seeded_batches((2, 8), 1, seed=3)[0]
    with torch.no_grad():
        expected = [t.numpy() for t in quantized(*x)]
    for actual, want in zip(run_tflite(model, x), expected):
        np.testing.assert_allclose(actual, want, atol=2 / 256 + 1e-6)


def test_dynamic_gives_hybrid_kernels():
    quantized, model = convert_pt2e_module(small_cnn(), CNN_SHAPE, dynamic=True, calibration=1)
    table = kinds(model)
    assert table["FULLY_CONNECTED"] == {"hybrid"}
    assert "hybrid" in table["CONV_2D"]  # the 1x1 conv; the 3x3 (864 weights) stays float
    ops = summarize(model.flatbuffer).ops
    assert not {"QUANTIZE", "DEQUANTIZE", "ROUND", "CAST", "REDUCE_MIN"} & set(ops)
    assert_no_weight_transforms(model)
    x = seeded_batches(CNN_SHAPE, 1, seed=5)[0]
    with torch.no_grad():
        expected = quantized(*x).numpy()
    actual = run_tflite(model, x)[0]
    assert np.abs(actual - expected).max() <= 0.05 * np.abs(expected).max()


def test_qat_smoke_prepare_train_convert_and_lower():
    """prepare_qat_pt2e → a few training steps → convert_pt2e → int8 .tflite."""
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                           nn.Linear(8 * 6 * 6, 4))
    args = seeded_batches((2, 3, 8, 8), 1)[0]
    quantized, quantizer = pt2e_qat(module, args, steps=3)
    model = edgebatch.convert(quantized, args, quant_config=QuantConfig(pt2e_quantizer=quantizer))
    table = kinds(model)
    assert table["CONV_2D"] == {"int8"} and table["FULLY_CONNECTED"] == {"int8"}
    assert_no_weight_transforms(model)
    assert_matches_quantized(model, quantized, (2, 3, 8, 8), max_lsb=2)

