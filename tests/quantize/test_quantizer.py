"""PT2EQuantizer annotations, one op family at a time (PyTorch only, no conversion)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.quantize.helpers import (
    DEQUANTIZE,
    QUANTIZE,
    input_qparams,
    nodes,
    output_qparams,
    pt2e,
    pt2e_qat,
    seeded_batches,
    small_cnn,
    CNN_SHAPE,
)
from edgebatch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

aten = torch.ops.aten
qd = torch.ops.quantized_decomposed


def _calibrated(module, shape, **kwargs):
    batches = seeded_batches(shape, 4)
    return pt2e(module.eval(), batches[0], calibration=batches, **kwargs)[0]


def test_config_matches_tflite_int8_spec():
    config = get_symmetric_quantization_config(is_per_channel=True)
    assert (config.weight.quant_min, config.weight.quant_max) == (-127, 127)
    assert config.weight.qscheme == torch.per_channel_symmetric and config.weight.ch_axis == 0
    act = config.input_activation
    assert (act.dtype, act.quant_min, act.quant_max) == (torch.int8, -128, 127)
    assert act.qscheme == torch.per_tensor_affine and not act.is_dynamic
    assert config.bias is None
    assert "HistogramObserver" in repr(act.observer_or_fake_quant_ctr)
    dynamic = get_symmetric_quantization_config(is_dynamic=True)
    assert dynamic.input_activation.is_dynamic and dynamic.output_activation is None
    assert "PlaceholderObserver" in repr(dynamic.input_activation.observer_or_fake_quant_ctr)
    assert get_symmetric_quantization_config().weight.qscheme == torch.per_tensor_symmetric
    qat = get_symmetric_quantization_config(is_qat=True)
    assert qat.is_qat and "FakeQuantize" in repr(qat.weight.observer_or_fake_quant_ctr)


class ConvOnly(nn.Module):
    def __init__(self, relu: bool):
        super().__init__()
        self.conv = nn.Conv2d(4, 8, 3)
        self.relu = relu

    def forward(self, x):
        y = self.conv(x)
        return torch.relu(y) if self.relu else y


@pytest.mark.parametrize("relu", [False, True])
def test_conv_and_conv_relu(relu):
    torch.manual_seed(0)
    q = _calibrated(ConvOnly(relu), (1, 4, 8, 8))
    (conv,) = nodes(q, aten.conv2d.default)
    assert input_qparams(conv, 0) is not None  # activation
    weight_dq = conv.args[1]
    assert weight_dq.target == qd.dequantize_per_channel.default
    assert weight_dq.args[4:6] == (-127, 127)
    assert not (isinstance(conv.args[2], torch.fx.Node) and conv.args[2].target in DEQUANTIZE)
    if relu:
        (act,) = nodes(q, aten.relu.default)
        assert output_qparams(conv) is None  # fused: quantized only after the ReLU
        scale, zero_point = output_qparams(act)
        assert zero_point == -128  # a ReLU output range starts at 0
    else:
        assert output_qparams(conv) is not None


class LinearAddmm(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 8)
        self.w = nn.Parameter(torch.randn(8, 6))
        self.b = nn.Parameter(torch.randn(6))

    def forward(self, x):
        y = torch.relu(self.fc(x))
        return torch.addmm(self.b, y, self.w)


def test_linear_relu_and_addmm():
    torch.manual_seed(0)
    q = _calibrated(LinearAddmm(), (2, 16))
    (linear,) = nodes(q, aten.linear.default)
    assert input_qparams(linear, 0) is not None
    assert linear.args[1].target == qd.dequantize_per_channel.default
    assert output_qparams(linear) is None and output_qparams(nodes(q, aten.relu.default)[0])
    (addmm,) = nodes(q, aten.addmm.default)
    assert input_qparams(addmm, 1) is not None
    weight = addmm.args[2]
    assert weight.target == qd.dequantize_per_channel.default and weight.args[3] == 1  # [in, out]
    assert output_qparams(addmm) is not None


class AddMul(nn.Module):
    def forward(self, x, y):
        return torch.relu(x + y), x * y


def test_add_relu_and_mul():
    batches = [b + c for b, c in zip(seeded_batches((1, 8), 4), seeded_batches((1, 8), 4, seed=1))]
    q, _ = pt2e(AddMul(), batches[0], calibration=batches)
    (add,) = nodes(q, aten.add.Tensor)
    assert input_qparams(add, 0) and input_qparams(add, 1)
    assert output_qparams(add) is None  # fused with the ReLU
    assert output_qparams(nodes(q, aten.relu.default)[0])[1] == -128
    (mul,) = nodes(q, aten.mul.Tensor)
    assert input_qparams(mul, 0) and output_qparams(mul)


class Cat(nn.Module):
    def forward(self, x, y):
        return torch.cat([x, y * 3], 1)


def test_cat_shares_one_scale():
    batches = [b + c for b, c in zip(seeded_batches((1, 4), 4), seeded_batches((1, 4), 4, seed=1))]
    q, _ = pt2e(Cat(), batches[0], calibration=batches)
    (cat,) = nodes(q, aten.cat.default)
    params = {p for p in input_qparams(cat, 0)} | {output_qparams(cat)}
    assert len(params) == 1 and None not in params  # TFLite CONCATENATION wants equal scales


class Pools(nn.Module):
    def forward(self, x):
        x = nn.functional.max_pool2d(x, 2)
        return nn.functional.avg_pool2d(x, 2), nn.functional.adaptive_avg_pool2d(x, 1)


def test_pooling_keeps_input_params():
    q = _calibrated(Pools(), (1, 4, 8, 8))
    for op in (aten.max_pool2d.default, aten.avg_pool2d.default, aten.adaptive_avg_pool2d.default):
        (node,) = nodes(q, op)
        assert input_qparams(node, 0) == output_qparams(node) != None  # noqa: E711


class Fixed(nn.Module):
    def forward(self, x):
        return (torch.sigmoid(x), torch.softmax(x, -1), nn.functional.hardsigmoid(x),
                torch.tanh(x))


def test_fixed_qparams_ops_use_tflite_output_params():
    q = _calibrated(Fixed(), (2, 8))
    expected = {aten.sigmoid.default: (1 / 256, -128), aten.softmax.int: (1 / 256, -128),
                aten.hardsigmoid.default: (1 / 256, -128), aten.tanh.default: (1 / 128, 0)}
    for op, params in expected.items():
        (node,) = nodes(q, op)
        assert input_qparams(node, 0) is not None
        scale, zero_point = output_qparams(node)
        assert scale == pytest.approx(params[0]) and zero_point == params[1]


def test_module_name_none_keeps_a_layer_float():
    model = small_cnn()
    quantizer = (PT2EQuantizer()
                 .set_global(get_symmetric_quantization_config(is_per_channel=True))
                 .set_module_name("fc", None))
    q, _ = pt2e(model, seeded_batches(CNN_SHAPE, 1)[0], quantizer=quantizer)
    (linear,) = nodes(q, aten.linear.default)
    assert linear.args[1].op == "get_attr"  # float weight, no q/dq
    convs = nodes(q, aten.conv2d.default)
    assert all(c.args[1].target == qd.dequantize_per_channel.default for c in convs)


def test_module_type_and_operator_type_configs():
    model = small_cnn()
    per_tensor = get_symmetric_quantization_config(is_per_channel=False)
    quantizer = (PT2EQuantizer()
                 .set_global(get_symmetric_quantization_config(is_per_channel=True))
                 .set_module_type(nn.Linear, per_tensor))
    q, _ = pt2e(model, seeded_batches(CNN_SHAPE, 1)[0], quantizer=quantizer)
    (linear,) = nodes(q, aten.linear.default)
    assert linear.args[1].target == qd.dequantize_per_tensor.default
    quantizer = PT2EQuantizer().set_operator_type(aten.linear, per_tensor)
    q, _ = pt2e(small_cnn(), seeded_batches(CNN_SHAPE, 1)[0], quantizer=quantizer)
    assert nodes(q, aten.linear.default)[0].args[1].target == qd.dequantize_per_tensor.default
    assert all(c.args[1].op == "get_attr" for c in nodes(q, aten.conv2d.default))


def test_dynamic_config_annotates_weighted_ops_only():
    q, quantizer = pt2e(small_cnn(), seeded_batches(CNN_SHAPE, 1)[0], dynamic=True)
    assert quantizer.is_dynamic
    assert nodes(q, qd.choose_qparams.tensor)  # activations quantized at run time
    assert not nodes(q, qd.quantize_per_tensor.default)  # no static activation params
    convs = {c.args[1].op for c in nodes(q, aten.conv2d.default)}
    # conv (864 weights) and the depthwise (288) stay float like TFLite's dynamic range
    # mode; the 1x1 conv (1024) and the linear (1280) get int8 weights.
    assert nodes(q, aten.linear.default)[0].args[1].target == qd.dequantize_per_channel.default
    assert convs == {"get_attr", "call_function"}


class ConvBn(nn.Module):
    def __init__(self, relu: bool):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.relu = relu
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        y = self.bn(self.conv(x))
        y = torch.relu(y) if self.relu else y
        return self.fc(y.mean((2, 3)))


# prepare_qat_pt2e traces its conv-bn patterns (~40 s each).
@pytest.mark.slow  # test_lowering.py has the default-suite QAT smoke test (conv+bn+relu)
@pytest.mark.parametrize("relu", [True, False])
def test_qat_conv_bn_folds_and_quantizes(relu):
    torch.manual_seed(0)
    model = ConvBn(relu)
    q, _ = pt2e_qat(model, seeded_batches((2, 3, 8, 8), 1)[0])
    assert not nodes(q, aten.batch_norm.default, aten._native_batch_norm_legit.default,
                     aten._native_batch_norm_legit_no_training.default)  # folded into conv
    (conv,) = nodes(q, aten.conv2d.default)
    assert conv.args[1].target in DEQUANTIZE and input_qparams(conv, 0) is not None
    last = nodes(q, aten.relu.default)[0] if relu else conv
    assert output_qparams(last) is not None
