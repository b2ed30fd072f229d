"""find_accuracy_culprits: the .tflite's intermediates against PyTorch's, node by node."""

import numpy as np
import torch

import edgebatch
from edgebatch.quantize.pt2e import pt2e_quantize
from tests.debug.wrong_lowerings import negated, swap_lowering

aten = torch.ops.aten


class ConvNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = torch.relu(self.bn(self.conv(x)))
        y = torch.tanh(y * 2 - 1)
        y = y.mean((2, 3))
        return torch.sigmoid(self.fc(y))


def conv_net_and_input():
    torch.manual_seed(0)
    return ConvNet().eval(), (torch.randn(1, 3, 10, 6),)


def test_faithful_conversion_has_no_culprits():
    module, args = conv_net_and_input()
    comparison = edgebatch.debug.compare_intermediates(module, args)
    assert comparison.culprits() == []
    compared = {n.node: n for n in comparison.nodes if n.conversion is not None}
    assert {"relu", "tanh", "mean", "sigmoid"} <= set(compared)
    assert all(not n.conversion.exceeds for n in compared.values())
    assert compared["tanh"].shape == (1, 8, 10, 6)  # PyTorch's layout, not NHWC


def test_wrong_lowering_is_pinned_to_its_node_and_line(monkeypatch):
    swap_lowering(monkeypatch, aten.tanh.default, negated)
    module, args = conv_net_and_input()
    [culprit] = edgebatch.debug.find_accuracy_culprits(module, args)
    assert (culprit.node, culprit.op, culprit.cause) == ("tanh", "aten.tanh.default", "conversion")
    assert culprit.source.startswith(f"{__file__}:") and "torch.tanh(y * 2 - 1)" in culprit.source
    assert culprit.error_before < culprit.tolerance < 1 < culprit.error_after
    # both read in PyTorch's layout: the .tflite's value is PyTorch's, negated
    assert culprit.expected.shape == culprit.actual.shape == (1, 8, 10, 6)
    np.testing.assert_allclose(culprit.actual, -culprit.expected, atol=1e-5)


class ThreeConvs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.c3 = torch.nn.Conv2d(8, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 4)

    def forward(self, x):
        y = self.c1(x)
        y = self.c2(y)
        y = self.c3(y)
        return self.fc(y.mean((2, 3)))


def quantized_three_convs():
    torch.manual_seed(0)
    args = (torch.randn(1, 3, 8, 8),)
    batches = [args] + [(torch.randn(1, 3, 8, 8),) for _ in range(3)]
    return pt2e_quantize(ThreeConvs().eval(), args, calibration_data=batches), args


def force_output_scale(quantized: torch.fx.GraphModule, layer: int, factor: float) -> None:
    """Scale the output quantization of the layer-th convolution by `factor`."""
    conv = [n for n in quantized.graph.nodes if n.target == aten.conv2d.default][layer]
    quantize = next(iter(conv.users))
    for node in (quantize, *quantize.users):
        node.args = (node.args[0], node.args[1] * factor, *node.args[2:])
    quantized.recompile()


def test_bad_quantization_scale_is_pinned_to_its_layer():
    (quantized, quant_config), args = quantized_three_convs()
    tolerance = dict(atol=1e-3, rtol=0.2)
    assert edgebatch.debug.find_accuracy_culprits(quantized, args, quant_config=quant_config,
                                                  **tolerance) == []
    force_output_scale(quantized, layer=1, factor=1 / 30)
    [culprit] = edgebatch.debug.find_accuracy_culprits(quantized, args,
                                                       quant_config=quant_config, **tolerance)
    assert culprit.cause == "quantization" and culprit.op == "aten.convolution.default"
    assert culprit.source.startswith(f"{__file__}:") and "self.c2(y)" in culprit.source
    assert culprit.quantized_by is not None
    assert culprit.error_after > 10 * culprit.error_before
