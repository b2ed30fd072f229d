"""The PT2E flow in one call, for recipes and scripts:

    quantized, quant_config = pt2e_quantize(model, args, calibration_data=batches)
    edgebatch.convert(quantized, args, quant_config=quant_config)

It is exactly what users write by hand: torch.export → prepare_pt2e → calibrate →
convert_pt2e. The module is not changed.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import torch

from edgebatch._imports import ensure_torch_before_tensorflow

ensure_torch_before_tensorflow()

from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e  # noqa: E402

from edgebatch.quantize.pt2e_quantizer import (  # noqa: E402
    PT2EQuantizer,
    get_symmetric_quantization_config,
)
from edgebatch.quantize.quant_config import QuantConfig  # noqa: E402


def pt2e_quantize(
    module: torch.nn.Module,
    sample_args: tuple,
    sample_kwargs: Optional[dict] = None,
    *,
    quantizer: Optional[PT2EQuantizer] = None,
    is_per_channel: bool = True,
    is_dynamic: bool = False,
    calibration_data: Optional[Iterable] = None,
    fold_quantize: bool = False,
    dynamic_shapes: Any = None,
) -> tuple[torch.fx.GraphModule, QuantConfig]:
    """PT2E-quantize `module`; returns (quantized module, the QuantConfig for convert).

    calibration_data: batches (args tuples or (args, kwargs) pairs); the sample inputs
    when not given (one batch: fine for dynamic quantization, thin for static).
    dynamic_shapes: as for torch.export; needed when calibration batches differ in size
    from the sample, and kept by the quantized module for convert.
    """
    if not isinstance(sample_args, (tuple, list)):
        sample_args = (sample_args,)
    if quantizer is None:
        quantizer = PT2EQuantizer().set_global(
            get_symmetric_quantization_config(is_per_channel=is_per_channel, is_dynamic=is_dynamic)
        )
    exported = torch.export.export(module, tuple(sample_args), sample_kwargs or {},
                                   dynamic_shapes=dynamic_shapes).module()
    prepared = prepare_pt2e(exported, quantizer)
    batches = list(calibration_data) if calibration_data is not None else [
        (tuple(sample_args), dict(sample_kwargs or {}))
    ]
    with torch.no_grad():
        for batch in batches:
            if (isinstance(batch, tuple) and len(batch) == 2 and isinstance(batch[1], dict)
                    and isinstance(batch[0], (tuple, list))):
                prepared(*batch[0], **batch[1])
            else:
                prepared(*(batch if isinstance(batch, (tuple, list)) else (batch,)))
    quantized = convert_pt2e(prepared, fold_quantize=fold_quantize)
    return quantized, QuantConfig(pt2e_quantizer=quantizer)
