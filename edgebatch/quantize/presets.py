"""TFLite converter flags for each quantization mode.

Flags are a dict of TFLiteConverter attributes (nested dicts set nested attributes, as in
`_ai_edge_converter_flags`):

| mode               | what TF's converter does                                              |
|--------------------|-----------------------------------------------------------------------|
| pt2e static        | fake-quant ops from the PT2E graph → int8 kernels with PT2E's params   |
| pt2e dynamic       | int8 weights from the PT2E graph → hybrid kernels (float activations) |
| fp16               | float16 weights (+ DEQUANTIZE to float32 at load)                     |
| drq                | dynamic range: int8 weights, hybrid kernels                           |
| int8               | full integer: TF calibrates, edgebatch picks least-error ranges, TF   |
|                    | quantizes (int8 or float I/O)                                         |
| weight_only_int8   | float conversion; int8 weights + DEQUANTIZE patched in afterwards     |
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from edgebatch._imports import tensorflow

tf = tensorflow()

PRESETS = ("fp16", "drq", "int8", "weight_only_int8")


def pt2e_flags(mode: str, *, int8_io: bool = False) -> dict:
    """Make TF's converter turn the lowered PT2E graph into quantized kernels.

    static: `_experimental_qdq_conversion_mode="STATIC"` is the converter's mode for models
    that carry their own quantize/dequantize (fake-quant) ops; it keeps the given scales
    and zero points. (Without it, per-channel fake quant behind a weight transpose fails.)
    dynamic: the graph has no fake quant left (see lowerings/quantized.py); TF's
    dynamic-range quantization gives hybrid kernels with PT2E's int8 weights. It skips
    weights under 1024 elements, and so does PT2EQuantizer's dynamic config. (TF's DYNAMIC
    qdq mode would quantize every weight, small ones included, which costs accuracy on
    mobilenet_v2.) Known limit: a large conv/linear weight that a dynamic config leaves
    float is still quantized by TF's pass.
    """
    flags = {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if mode != "dynamic":
        flags["_experimental_qdq_conversion_mode"] = "STATIC"
    if int8_io:
        if mode == "dynamic":
            raise ValueError("int8 inputs/outputs need static quantization")
        flags["inference_input_type"] = tf.int8
        flags["inference_output_type"] = tf.int8
        # TF 2.21 rewrites the model's I/O types after conversion here and drops weights
        # stored at buffer offsets ("Constant buffer specified an out of range offset"):
        # keep the weights inline (quantized models are far below the 2 GB cap).
        flags["_experimental_use_buffer_offset"] = False
    return flags


def preset_flags(preset: str, *, representative_dataset: Optional[Callable] = None,
                 int8_io: bool = False, allow_float: bool = True) -> dict:
    if preset == "fp16":
        return {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "target_spec": {"supported_types": [tf.float16]},
        }
    if preset == "drq":
        return {"optimizations": [tf.lite.Optimize.DEFAULT]}
    if preset == "weight_only_int8":
        return {}  # float conversion; QuantConfig.postprocess stores the weights as int8
    if preset == "int8":
        if representative_dataset is None:
            raise ValueError(
                "the int8 preset calibrates activations: give QuantConfig("
                "preset='int8', calibration_data=[sample_args, ...]) or a "
                "representative_dataset generator"
            )
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if allow_float:
            ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
        # TF's converter stops after calibration; QuantConfig.postprocess re-ranges the
        # activations (edgebatch/quantize/calibration.py) and quantizes, with int8 I/O
        # if asked.
        return {
            "optimizations": [tf.lite.Optimize.DEFAULT],
            "representative_dataset": representative_dataset,
            "target_spec": {"supported_ops": ops},
            "_experimental_calibrate_only": True,
        }
    raise ValueError(f"unknown quantization preset {preset!r}; choose one of {PRESETS}")


def merge_flags(base: dict, override: dict) -> dict:
    """`override` on top of `base`; nested dicts merge key by key."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_flags(merged[key], value)
        else:
            merged[key] = value
    return merged


def dataset_from_samples(samples: Iterable, signature_name: Optional[str] = None) -> Callable:
    """A representative-dataset callable from sample args tuples or (args, kwargs) pairs,
    named like the converted model's inputs (args_0, ..., flattened kwargs)."""
    from edgebatch._convert.signature import input_names_and_values

    samples = list(samples)

    def generate():
        for sample in samples:
            if (isinstance(sample, tuple) and len(sample) == 2 and isinstance(sample[1], dict)
                    and isinstance(sample[0], (tuple, list))):
                args, kwargs = sample
            else:
                args, kwargs = (sample if isinstance(sample, (tuple, list)) else (sample,)), {}
            feeds = {
                name: _numpy(value) for name, value in input_names_and_values(args, kwargs)
            }
            yield (signature_name, feeds) if signature_name else feeds

    return generate


def _numpy(value):
    import numpy as np

    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)
