"""The quantize stage: a recipe's `quant` node turned into what `convert` takes.

kind=preset: a converter-side preset of edgebatch.quantize (fp16, drq, int8,
weight_only_int8); int8 gets a representative dataset from the calibration inputs
the build stage drew.
kind=pt2e: each signature's module goes through torchao's PT2E flow (export, prepare,
calibrate, convert) with edgebatch's PT2EQuantizer; the float module is kept as the
validation reference.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from edgebatch.recipe.build import BuiltSignature
from edgebatch.recipe.checks import keep_float_spec

log = logging.getLogger(__name__)


def quantize(signatures: Sequence[BuiltSignature], quant) -> tuple[object, dict]:
    """Return (quant_config for convert, settings for result["quantization"])."""
    kind = _value(quant.kind)
    info = {"name": quant.name, "kind": kind}
    if kind == "preset":
        from edgebatch.quantize.quant_config import QuantConfig

        preset = _value(quant.preset)
        info |= {"preset": preset}
        dataset = None
        keep_float = keep_float_spec(quant)
        if preset == "int8":
            dataset = _representative_dataset(signatures)
            info |= {"calibration_batches": quant.calibration.batches, "int8_io": quant.int8_io}
            if keep_float:
                info |= {"keep_float": keep_float}
        if preset == "drq":
            info |= {"hybrid_kernels": _value(quant.hybrid_kernels)}
        config = QuantConfig.from_preset(preset, representative_dataset=dataset,
                                         int8_io=quant.int8_io,
                                         hybrid_kernels=_value(quant.hybrid_kernels),
                                         float_fallback=quant.float_fallback,
                                         keep_float=keep_float)
        if keep_float:  # auto:K ranks the layers on the first signature's calibration batches
            config.calibration_data = list(signatures[0].calibration_inputs)
        return config, info
    if kind == "pt2e":
        info |= {
            "int8_io": quant.int8_io,
            "per_channel": quant.pt2e.per_channel,
            "dynamic": quant.pt2e.dynamic,
            "calibration_batches": quant.calibration.batches,
        }
        if quant.pt2e.dynamic:
            info |= {"hybrid_kernels": _value(quant.hybrid_kernels)}
        return _pt2e(signatures, quant), info
    raise ValueError(f"quant.kind={kind!r} needs no quantize stage")


def _value(x):
    return getattr(x, "value", x)


def _representative_dataset(signatures: Sequence[BuiltSignature]):
    """A TFLite representative dataset over every signature's calibration batches."""
    from edgebatch.quantize.presets import dataset_from_samples

    generators = [dataset_from_samples(sig.calibration_inputs, sig.name) for sig in signatures]

    def generate():
        for generator in generators:
            yield from generator()

    return generate


def _pt2e(signatures: Sequence[BuiltSignature], quant):
    from edgebatch.quantize.pt2e import pt2e_quantize

    quant_config = None
    for sig in signatures:
        quantized, quant_config = pt2e_quantize(
            sig.module, sig.export_sample, sig.kwargs, is_per_channel=quant.pt2e.per_channel,
            is_dynamic=quant.pt2e.dynamic, calibration_data=sig.calibration_inputs,
            dynamic_shapes=sig.dynamic_shapes,
        )
        sig.float_module, sig.module = sig.module, quantized
        log.info("signature '%s': PT2E-quantized (%d calibration batches)", sig.name,
                 len(sig.calibration_inputs))
    quant_config.int8_io = quant.int8_io
    quant_config.hybrid_kernels = _value(quant.hybrid_kernels)
    quant_config.float_fallback = quant.float_fallback
    return quant_config


def op_kinds(flatbuffer: bytes) -> str:
    """'int8 40, hybrid 3, float 2, ...': how the converted ops run (edgebatch.quantize.report)."""
    from collections import Counter

    from edgebatch.quantize.report import classify_ops

    counts = Counter(info.kind for info in classify_ops(flatbuffer))
    return ", ".join(f"{kind} {n}" for kind, n in counts.most_common())


def run_int8_io(model, signature: str):
    """A caller for models with int8 inputs/outputs: quantize the float inputs and
    dequantize the outputs with the model's own parameters."""
    from edgebatch.quantize.report import run_tflite

    def run(*args, **kwargs):
        return {f"output_{i}": out for i, out in
                enumerate(run_tflite(model, args, kwargs, signature_name=signature))}

    return run


def kept_float(quant_config) -> tuple[list[str] | None, list[dict] | None]:
    """(what stayed float, auto:K's choice with each layer's error) after convert."""
    kept = getattr(quant_config, "kept_float", None)
    auto = getattr(quant_config, "keep_float_auto", None)
    if kept is None:
        return None, None
    return list(kept), [{"layer": name, "error": error} for name, error in auto or []]
