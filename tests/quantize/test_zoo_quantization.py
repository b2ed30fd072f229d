"""resnet18 and mobilenet_v2 under every quantization mode (slow: ~6 min in all).

Models come from model_zoo (weights=None, made numerically meaningful on seeded
batches). Calibration: 8 seeded batches; evaluation: 4 other seeded inputs.

Run the figures table:  .venv/bin/python -m tests.quantize.test_zoo_quantization
"""

from __future__ import annotations

import functools
import sys
import time

import pytest
import torch

import edgebatch
from edgebatch.quantize.pt2e import pt2e_quantize
from edgebatch.quantize.quant_config import QuantConfig
from edgebatch.quantize.report import quantization_report
from model_zoo.torchvision_zoo import build_torchvision, sample_inputs

MODELS = ("resnet18", "mobilenet_v2")
MODES = ("pt2e_dynamic", "pt2e_static", "drq", "fp16", "int8", "weight_only_int8")
INT8_MODES = {"pt2e_dynamic", "pt2e_static", "drq", "int8", "weight_only_int8"}
# (max size ratio vs float, min cosine vs float PyTorch)
CRITERIA = {
    "pt2e_dynamic": (0.28, 0.99), "drq": (0.28, 0.99), "fp16": (0.52, 0.99),
    "pt2e_static": (0.28, 0.98), "int8": (0.28, 0.98), "weight_only_int8": (0.28, 0.99),
}
CALIBRATION = [sample_inputs("resnet18", seed=100 + i) for i in range(8)]
EVALUATION = [sample_inputs("resnet18", seed=500 + i) for i in range(4)]


@functools.lru_cache(maxsize=None)
def float_model(name: str):
    module = build_torchvision(name, seed=0)
    return module, edgebatch.convert(module, CALIBRATION[0])


def measure(name: str, mode: str, *, fold: bool = False):
    module, float_tflite = float_model(name)
    quantized = None
    start = time.perf_counter()
    if mode.startswith("pt2e"):
        dynamic = mode == "pt2e_dynamic"
        quantized, config = pt2e_quantize(
            module, CALIBRATION[0], is_dynamic=dynamic,
            calibration_data=CALIBRATION[:1] if dynamic else CALIBRATION, fold_quantize=fold,
        )
        model = edgebatch.convert(quantized, CALIBRATION[0], quant_config=config)
    else:
        config = QuantConfig(preset=mode, calibration_data=CALIBRATION if mode == "int8" else None)
        model = edgebatch.convert(module, CALIBRATION[0], quant_config=config)
    seconds = time.perf_counter() - start
    report = quantization_report(model, EVALUATION, float_module=module,
                                 quantized_module=quantized,
                                 float_size_bytes=len(float_tflite.flatbuffer), mode=mode)
    return report, seconds


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("mode", MODES)
def test_zoo_quantization(name, mode):
    report, _ = measure(name, mode)
    max_ratio, min_cosine = CRITERIA[mode]
    print(f"\n{name} {mode}: {_row(report)}")
    assert report.size_ratio <= max_ratio
    assert report.float_vs_tflite["cosine"] >= min_cosine
    if mode in INT8_MODES:
        assert report.int8_weights >= (21 if name == "resnet18" else 49)
    if mode != "fp16" and mode != "weight_only_int8":
        # no weight is transposed or dequantized at run time
        assert report.ops_on_constants == []
    if mode == "pt2e_static":
        assert report.op_kinds.get("float", 0) == 0  # every kernel int8
    if report.quantized_vs_tflite is not None:
        assert report.quantized_vs_tflite["cosine"] >= 0.98


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["pt2e_static", "pt2e_dynamic"])
def test_fold_quantize_gives_the_same_model(mode):
    unfolded, _ = measure("resnet18", mode)
    folded, _ = measure("resnet18", mode, fold=True)
    assert folded.int8_weights == unfolded.int8_weights
    assert abs(folded.size_bytes - unfolded.size_bytes) < 0.01 * unfolded.size_bytes
    assert folded.float_vs_tflite["cosine"] >= CRITERIA[mode][1]


def _row(report) -> str:
    q = report.quantized_vs_tflite
    return (f"{report.size_bytes / 1e6:.2f} MB ratio {report.size_ratio:.3f} "
            f"int8 tensors {report.int8_weights} kinds {report.op_kinds} "
            f"cos vs float {report.float_vs_tflite['cosine']:.5f} "
            f"snr {report.float_vs_tflite['snr_db']:.1f} dB"
            + (f" | quantized-PyTorch vs TFLite cos {q['cosine']:.5f} snr {q['snr_db']:.1f} dB"
               f" (with TFLite's int32 bias: cos {report.int32_bias_vs_tflite['cosine']:.6f}"
               f" snr {report.int32_bias_vs_tflite['snr_db']:.1f} dB)"
               f" | float vs quantized-PyTorch cos {report.float_vs_quantized['cosine']:.5f}"
               if q else "")
            + f" | on constants: {len(report.ops_on_constants)}")


if __name__ == "__main__":
    for name in sys.argv[1:2] or MODELS:
        _, float_tflite = float_model(name)
        print(f"{name} float: {len(float_tflite.flatbuffer) / 1e6:.2f} MB", flush=True)
        for mode in sys.argv[2].split(",") if len(sys.argv) > 2 else MODES:
            report, seconds = measure(name, mode)
            print(f"{name} {mode} ({seconds:.1f} s): {_row(report)}", flush=True)
