"""Small models and the PT2E flow as users write it, for the quantization tests."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

import edgebatch.quantize  # noqa: F401  (torch + torchao before tensorflow)
from torchao.quantization.pt2e.quantize_pt2e import (
    convert_pt2e,
    prepare_pt2e,
    prepare_qat_pt2e,
)

from edgebatch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config

qd = torch.ops.quantized_decomposed
QUANTIZE = {qd.quantize_per_tensor.default, qd.quantize_per_tensor.tensor,
            qd.quantize_per_channel.default}
DEQUANTIZE = {qd.dequantize_per_tensor.default, qd.dequantize_per_tensor.tensor,
              qd.dequantize_per_channel.default}


def seeded_batches(shape, count: int, seed: int = 0) -> list[tuple[torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(*shape, generator=generator),) for _ in range(count)]


def randomize_batchnorm(module: nn.Module, seed: int = 0) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
    return module


class SmallCNN(nn.Module):
    """conv+bn+relu, depthwise+bn+relu6, 1x1 conv with a residual add, pooling, linear.
    Weights are ≥ 1024 elements where dynamic-range quantization should apply."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3, padding=1)
        self.bn = nn.BatchNorm2d(32)
        self.dw = nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.bn_dw = nn.BatchNorm2d(32)
        self.pw = nn.Conv2d(32, 32, 1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32, 40)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        y = nn.functional.relu6(self.bn_dw(self.dw(x)))
        x = torch.relu(self.pw(y) + x)
        x = self.pool(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def small_cnn(seed: int = 0) -> SmallCNN:
    torch.manual_seed(seed)
    return randomize_batchnorm(SmallCNN(), seed).eval()


CNN_SHAPE = (1, 3, 16, 16)


def pt2e(module, args, *, quantizer=None, dynamic=False, per_channel=True, fold=False,
         calibration=None, config=None):
    """torch.export → prepare_pt2e → calibrate → convert_pt2e, as in the seed flow."""
    if quantizer is None:
        config = config or get_symmetric_quantization_config(
            is_per_channel=per_channel, is_dynamic=dynamic
        )
        quantizer = PT2EQuantizer().set_global(config)
    exported = torch.export.export(module, tuple(args)).module()
    prepared = prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        for batch in calibration or [tuple(args)]:
            prepared(*batch)
    return convert_pt2e(prepared, fold_quantize=fold), quantizer


def pt2e_qat(module, args, steps: int = 3, per_channel: bool = True):
    quantizer = PT2EQuantizer().set_global(
        get_symmetric_quantization_config(is_per_channel=per_channel, is_qat=True)
    )
    exported = torch.export.export(module.train(), tuple(args)).module()
    prepared = prepare_qat_pt2e(exported, quantizer)
    optimizer = torch.optim.SGD(prepared.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(*args[0].shape, generator=generator)
        loss = prepared(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    import torchao.quantization.pt2e as pt2e_api

    pt2e_api.move_exported_model_to_eval(prepared)
    return convert_pt2e(prepared), quantizer


def output_qparams(node: torch.fx.Node):
    """(scale, zero_point) of the quantize op that consumes `node`, or None."""
    for user in node.users:
        if user.op == "call_function" and user.target in QUANTIZE:
            return float(user.args[1]), int(user.args[2])
    return None


def input_qparams(node: torch.fx.Node, index: int = 0):
    """(scale, zero_point) of the dequantize feeding `node.args[index]`, or None."""
    arg = node.args[index]
    if isinstance(arg, (list, tuple)):
        return [input_qparams_of(a) for a in arg]
    return input_qparams_of(arg)


def input_qparams_of(arg):
    if isinstance(arg, torch.fx.Node) and arg.op == "call_function" and arg.target in DEQUANTIZE:
        return float(arg.args[1]), int(arg.args[2])
    return None


def nodes(module, *targets):
    return [n for n in module.graph.nodes if n.op == "call_function" and n.target in targets]


def cosine(a, b) -> float:
    a = np.concatenate([np.asarray(x, np.float64).ravel() for x in a])
    b = np.concatenate([np.asarray(x, np.float64).ravel() for x in b])
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
