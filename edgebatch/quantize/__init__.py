"""Quantization: PT2E (torchao) quantizer, QuantConfig, converter-side presets, reports.

    from edgebatch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from edgebatch.quantize.quant_config import QuantConfig

Names load lazily; the first one touched loads torch (and torch._dynamo) before
tensorflow, like the rest of edgebatch.
"""

from __future__ import annotations

from edgebatch._imports import ensure_torch_before_tensorflow
from edgebatch._lazy import lazy_exports

ensure_torch_before_tensorflow()

_EXPORTS = {
    "PT2EQuantizer": "edgebatch.quantize.pt2e_quantizer",
    "get_symmetric_quantization_config": "edgebatch.quantize.pt2e_quantizer",
    "QuantConfig": "edgebatch.quantize.quant_config",
    "pt2e_quantize": "edgebatch.quantize.pt2e",
    "quantization_report": "edgebatch.quantize.report",
    "QuantizationReport": "edgebatch.quantize.report",
    "classify_ops": "edgebatch.quantize.report",
    "PRESETS": "edgebatch.quantize.presets",
    "pt2e_quantizer": "edgebatch.quantize.pt2e_quantizer",
    "quant_config": "edgebatch.quantize.quant_config",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports("edgebatch.quantize", globals(), _EXPORTS)
