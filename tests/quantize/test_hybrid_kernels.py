"""Kernel-aware lowering of quantized ops: hybrid ops (edgebatch/quantize/hybrid_kernels.py),
int8 ops XNNPACK lacks (float_fallback.py), and XNNPACK's coverage
(edgebatch/delegate_coverage.py), on tiny blocks of mobilenet_v2 / v3."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import edgebatch
from edgebatch.delegate_coverage import delegate_coverage
from edgebatch.flatbuffer_summary import summarize
from edgebatch.quantize import presets
from edgebatch.quantize.hybrid_kernels import hybrid_is_faster
from edgebatch.quantize.quant_config import QuantConfig
from edgebatch.quantize.report import classify_ops, quantization_report
from tests.batch.modules import InvertedResidual
from tests.quantize.helpers import pt2e, seeded_batches

SHAPE = (1, 16, 14, 14)


@pytest.fixture(scope="module")
def block():
    torch.manual_seed(0)
    return InvertedResidual().eval()


@pytest.fixture(scope="module")
def args():
    return seeded_batches(SHAPE, 1)[0]


def _kinds(model) -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for info in classify_ops(model.flatbuffer):
        table.setdefault(info.op, set()).add(info.kind)
    return table


def _cosine(model, module, args) -> float:
    with torch.no_grad():
        ref = module(*args).numpy().ravel()
    out = np.asarray(model(*args)).ravel()
    return float(ref @ out / np.linalg.norm(ref) / np.linalg.norm(out))


def test_drq_dequantizes_the_depthwise_weight_and_keeps_xnnpack_whole(block, args):
    before = edgebatch.convert(block, args,
                               quant_config=QuantConfig(preset="drq", hybrid_kernels="all"))
    after = edgebatch.convert(block, args, quant_config=QuantConfig(preset="drq"))

    assert _kinds(before)["DEPTHWISE_CONV_2D"] == {"hybrid"}
    kinds = _kinds(after)
    assert kinds["DEPTHWISE_CONV_2D"] == {"float"}
    assert kinds["DEQUANTIZE"] == {"weight_dequantize"}
    assert kinds["CONV_2D"] == {"hybrid"} and kinds["FULLY_CONNECTED"] == {"hybrid"}
    assert after.report["hybrid_kernels"]["DEPTHWISE_CONV_2D"] == {"hybrid": 0, "float": 1}

    # the same int8 weight; a DEQUANTIZE op and a weightless float tensor cost < 256 bytes
    size_growth = summarize(after.flatbuffer).size_bytes - summarize(before.flatbuffer).size_bytes
    assert 0 <= size_growth < 256
    assert summarize(after.flatbuffer).int8_weights == summarize(before.flatbuffer).int8_weights
    assert _cosine(after, block, args) >= _cosine(before, block, args) - 1e-6

    coverage_before, coverage_after = (delegate_coverage(m.flatbuffer) for m in (before, after))
    assert [(n.op, n.count) for n in coverage_before.not_delegated] == [("DEPTHWISE_CONV_2D", 1)]
    assert coverage_before.not_delegated[0].form.startswith("hybrid")
    assert coverage_before.partitions == 2
    assert coverage_after.partitions == 1 and coverage_after.not_delegated == []
    report = quantization_report(before, [args], float_module=block, mode="drq")
    assert report.delegate == coverage_before.as_dict()
    assert "XNNPACK: 2 partition(s); ops left to LiteRT's kernels: 1 DEPTHWISE_CONV_2D" in (
        report.to_markdown())


def test_pt2e_dynamic_and_the_seed_flag_route_choose_the_same_way(block, args):
    quantized, quantizer = pt2e(block, args, dynamic=True, calibration=[args])
    dynamic = edgebatch.convert(quantized, args, quant_config=QuantConfig(pt2e_quantizer=quantizer))
    seed = edgebatch.convert(block, args, _ai_edge_converter_flags={
        "optimizations": [presets.tf.lite.Optimize.DEFAULT]})
    for model in (dynamic, seed):
        assert _kinds(model)["DEPTHWISE_CONV_2D"] == {"float"}
        assert _kinds(model)["CONV_2D"] == {"hybrid"}


def test_the_table_keeps_a_hybrid_kernel_only_where_it_is_faster_at_every_thread_count():
    def shape(hybrid, float_):
        return {"hybrid_ms": {"1": hybrid[0], "2": hybrid[1]},
                "float_ms": {"1": float_[0], "2": float_[1]}}

    table = {"threads": [1, 2], "kinds": {
        "CONV_2D": [shape((1, 1), (2, 2)), shape((3, 1), (2, 2))],  # geomean 0.87×, 0.5×
        "DEPTHWISE_CONV_2D": [shape((1, 3), (2, 2))],  # faster at 1 thread only
    }}
    assert hybrid_is_faster("CONV_2D", table)
    assert not hybrid_is_faster("DEPTHWISE_CONV_2D", table)
    assert not hybrid_is_faster("BATCH_MATMUL", table)  # not measured: float kernel


def test_hybrid_kernels_must_be_a_known_policy():
    with pytest.raises(ValueError, match="hybrid_kernels must be one of"):
        QuantConfig(preset="drq", hybrid_kernels="fast")


class HardswishBlock(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(16, 32, 3, padding=1)
        self.project = torch.nn.Conv2d(32, 16, 1)

    def forward(self, x):
        return self.project(torch.nn.functional.hardswish(self.conv(x)))


@pytest.mark.parametrize("mode", ["int8", "pt2e_static"])
def test_int8_ops_xnnpack_does_not_run_fall_back_to_float_between_quantize_ops(mode):
    torch.manual_seed(0)
    block = HardswishBlock().eval()
    calibration = seeded_batches(SHAPE, 4, seed=100)
    models = {}
    for fallback in (False, True):
        if mode == "int8":
            module, config = block, QuantConfig(preset="int8", calibration_data=calibration,
                                                float_fallback=fallback)
        else:
            module, quantizer = pt2e(block, calibration[0], calibration=calibration)
            config = QuantConfig(pt2e_quantizer=quantizer, float_fallback=fallback)
        models[fallback] = edgebatch.convert(module, calibration[0], quant_config=config)
    assert _kinds(models[False])["HARD_SWISH"] == {"int8"}
    assert delegate_coverage(models[False].flatbuffer).partitions == 2
    kinds = _kinds(models[True])
    assert kinds["HARD_SWISH"] == {"float"} and kinds["CONV_2D"] == {"int8"}
    assert delegate_coverage(models[True].flatbuffer).partitions == 1
    cosines = [_cosine(models[f], block, calibration[1]) for f in (False, True)]
    assert cosines[1] > 0.995 and abs(cosines[1] - cosines[0]) < 2e-3


class LayerScaledMlp(torch.nn.Module):
    """convnext's block in small: channels-last Linear layers, then a per-channel layer scale
    kept as an NCHW [C, 1, 1] parameter."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = torch.nn.Linear(16, 64), torch.nn.Linear(64, 16)
        self.layer_scale = torch.nn.Parameter(torch.rand(16, 1, 1) + 0.5)

    def forward(self, x):
        y = self.fc2(torch.nn.functional.gelu(self.fc1(x.permute(0, 2, 3, 1))))
        return x + self.layer_scale * y.permute(0, 3, 1, 2)


def test_int8_layers_with_a_folded_layer_scale_stay_on_xnnpack():
    # TF's converter folds the scale into the Linear before it with the scale's shape as the
    # bias's; [1, 1, C] would make XNNPACK refuse every such layer (convnext_tiny: 18)
    torch.manual_seed(0)
    calibration = seeded_batches(SHAPE, 4)
    model = edgebatch.convert(LayerScaledMlp().eval(), calibration[0],
                              quant_config=QuantConfig.from_preset("int8",
                                                                   calibration_data=calibration))
    assert summarize(model.flatbuffer).ops["FULLY_CONNECTED"] == 2
    coverage = delegate_coverage(model.flatbuffer)
    assert (coverage.partitions, coverage.not_delegated) == (1, [])
