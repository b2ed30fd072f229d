"""Realistic result dicts as the batch runner writes them (result.json), and regression comparisons."""

from __future__ import annotations

import copy

_TOOLS = {"torch": "2.14.1", "tensorflow": "2.21.0", "ai-edge-litert": "2.3.0",
          "edgebatch": "0.1.0", "git_commit": "1c148c8"}
_RESNET_OPS = {"CONV_2D": 20, "ADD": 8, "MAX_POOL_2D": 1, "MEAN": 1, "FULLY_CONNECTED": 1,
               "TRANSPOSE": 1, "RESHAPE": 1}


def ok_result(name: str = "resnet18_nhwc", quant: str = "none", size_bytes: int = 46_827_312,
              rel_error: float = 3.1e-7, latency_1t: float = 21.4, version: int = 1) -> dict:
    return {
        "name": name,
        "recipe": "resnet18_nhwc",
        "status": "ok",
        "stage": None,
        "error": None,
        "config": {
            "model": {"name": "resnet18", "_target_": "model_zoo.torchvision_zoo.build",
                      "kwargs": {"arch": "resnet18", "weights": None}},
            "quant": {"name": quant, "mode": "converter"},
            "layout": {"name": "nhwc", "inputs": [0], "outputs": []},
            "signatures": [{"name": "serving_default",
                            "inputs": [{"shape": [1, 3, 224, 224], "dtype": "float32", "seed": 0}]}],
            "validation": {"atol": 1e-4, "rtol": 1e-4, "n_inputs": 4},
            "benchmark": {"threads": [1, 2], "runs": 50},
        },
        "conversion": {"seconds": 3.94, "peak_rss_mb": 2311.5},
        "model": {
            "size_bytes": size_bytes, "num_ops": sum(_RESNET_OPS.values()), "transposes": 1,
            "gather_nd": 0, "int8_weights": 0, "uses_flex": False, "ops": dict(_RESNET_OPS),
            "weight_dtypes": {"float32": 62}, "activation_dtypes": {"float32": 71},
            "ops_on_constants": [], "signatures": ["serving_default"],
        },
        "validation": {"max_abs": 2.4e-6, "mean_abs": 4.1e-7, "rel_error": rel_error,
                       "rmse": 5.5e-7, "cosine": 0.99999998, "passed": True,
                       "atol": 1e-4, "rtol": 1e-4, "n_inputs": 4},
        "quantization": None,
        "benchmark": {"threads": {"1": {"median_ms": latency_1t, "p90_ms": latency_1t * 1.08, "runs": 50},
                                  "2": {"median_ms": latency_1t * 0.56, "p90_ms": latency_1t * 0.6,
                                        "runs": 50}}},
        "artifact": {"name": name, "version": version,
                     "sha256": "9f2c4e1b" + "0" * 56, "path": f"outputs/registry/blobs/9f/{name}.tflite"},
        "timings": {"build": 0.82, "convert": 3.94, "validate": 0.41, "benchmark": 2.2, "register": 0.03},
        "tool_versions": dict(_TOOLS),
        "started_at": "2026-05-09T02:00:00+00:00",
        "finished_at": "2026-05-09T02:00:08+00:00",
    }


def quantized_result(quant: str = "int8", size_bytes: int = 11_843_000, rel_error: float = 1.8e-2,
                     latency_1t: float = 9.7) -> dict:
    result = ok_result(name=f"resnet18_nhwc_{quant}", quant=quant, size_bytes=size_bytes,
                       rel_error=rel_error, latency_1t=latency_1t)
    result["model"].update(int8_weights=21, weight_dtypes={"int8": 21, "int32": 21, "float32": 2},
                           ops={**_RESNET_OPS, "QUANTIZE": 1, "DEQUANTIZE": 1})
    result["validation"].update(max_abs=0.21, mean_abs=0.031, rmse=0.04, cosine=0.99712,
                                atol=0.3, rtol=0.05)
    result["quantization"] = {
        "scheme": "pt2e_static", "calibration_samples": 8,
        "float_vs_quantized": {"max_abs": 0.2, "mean_abs": 0.03, "rel_error": 1.7e-2,
                               "rmse": 0.039, "cosine": 0.99731, "passed": True},
        "quantized_pytorch_vs_tflite": {"max_abs": 0.012, "mean_abs": 0.0011, "rel_error": 9.5e-4,
                                        "rmse": 0.0016, "cosine": 0.999991, "passed": True},
    }
    return result


def failed_result(name: str = "wav2vec2_drq", message: str = "no lowering for ATen op 'aten.stft'") -> dict:
    return {
        "name": name,
        "recipe": name,
        "status": "failed",
        "stage": "convert",
        "error": {"class": "UnsupportedOpError", "message": message, "signature": "e3b0c44298fc"},
        "config": {"model": {"name": "wav2vec2_base"}, "quant": "drq", "layout": "nchw"},
        "conversion": None,
        "timings": {"build": 1.3, "convert": 0.7},
        "tool_versions": dict(_TOOLS),
        "started_at": "2026-05-09T02:01:00+00:00",
        "finished_at": "2026-05-09T02:01:02+00:00",
    }


def sweep_results() -> list[dict]:
    return [
        ok_result(name="resnet18", quant="none"),
        quantized_result("fp16", size_bytes=23_420_000, rel_error=4.0e-4, latency_1t=20.9),
        quantized_result("drq", size_bytes=11_780_000, rel_error=6.2e-3, latency_1t=14.2),
        quantized_result("int8", size_bytes=11_843_000, rel_error=1.8e-2, latency_1t=9.7),
        failed_result(name="resnet18_pt2e_dynamic"),
    ]


def comparisons() -> list[dict]:
    ok = {"name": "mobilenet_v2", "status": "ok", "baseline": {"version": 3, "size_bytes": 14_000_000},
          "current": {"version": 4, "size_bytes": 14_000_000},
          "checks": [{"metric": "size_bytes", "baseline": 14_000_000, "current": 14_000_000, "delta": 0,
                      "relative": 0.0, "threshold": 0.05, "regressed": False}],
          "error": None, "last_good_version": 4, "failing_since": None}
    regressed = {"name": "resnet18", "status": "regressed",
                 "baseline": {"version": 7, "latency_ms_1t": 21.4}, "current": {"version": 8, "latency_ms_1t": 27.9},
                 "checks": [{"metric": "latency_ms_1t", "baseline": 21.4, "current": 27.9, "delta": 6.5,
                             "relative": 0.3037, "threshold": 0.10, "regressed": True},
                            {"metric": "transposes", "baseline": 1, "current": 1, "delta": 0,
                             "relative": 0.0, "threshold": 0, "regressed": False}],
                 "error": None, "last_good_version": 7, "failing_since": None}
    failed = {"name": "vit_b_16", "status": "failed", "baseline": {"version": 2}, "current": None,
              "checks": [],
              "error": {"class": "ConversionError", "stage": "convert",
                        "message": "TFLite converter failed: <script>alert(1)</script>",
                        "signature": "5d41402abc4b"},
              "last_good_version": 2, "failing_since": "2026-05-07"}
    new = {"name": "convtasnet", "status": "new", "baseline": None, "current": {"version": 1},
           "checks": [], "error": None, "last_good_version": None, "failing_since": None}
    return [copy.deepcopy(c) for c in (ok, new, failed, regressed)]
