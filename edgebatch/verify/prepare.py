"""LiteRT's own kernels check every node (Prepare), without delegates, before XNNPACK runs.

The XNNPACK delegate takes for granted what the kernels' Prepare checks: a node they
reject (a SPLIT with three inputs, say) can crash it when it is applied. Prepare also
propagates shapes, so tensors that only a damaged shape upstream makes huge show here,
before XNNPACK spends seconds setting them up.
"""

from __future__ import annotations

import numpy as np

from edgebatch.errors import ModelLoadError
from edgebatch.verify.model import MAX_ACTIVATION_BYTES


def prepare_without_delegates(data: bytes, source: str = "the model") -> None:
    """Raise ModelLoadError unless LiteRT's kernels prepare every signature of `data`."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    try:
        interpreter = Interpreter(
            model_content=data,
            experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        )
        interpreter.allocate_tensors()
        for name in interpreter.get_signature_list():
            runner = interpreter.get_signature_runner(name)
            # no public call allocates (and so prepares) one signature's subgraph
            runner._interpreter_wrapper.AllocateTensors(runner._subgraph_index)
        tensors = interpreter.get_tensor_details()
    except Exception as exc:  # LiteRT raises ValueError, RuntimeError, UnicodeDecodeError
        message = str(exc).strip().rstrip(".") or type(exc).__name__
        raise ModelLoadError(
            f"LiteRT could not load {source}: {message}. The file is damaged, or needs ops "
            "or schema features this LiteRT version lacks."
        ) from exc
    for tensor in tensors:
        size = int(np.prod(tensor["shape"], dtype=np.float64)) * np.dtype(tensor["dtype"]).itemsize
        if size > MAX_ACTIVATION_BYTES:
            raise ModelLoadError(
                f"{source} is a damaged TFLite model (tensor {tensor['index']} "
                f"'{tensor['name']}' grows to shape {tensor['shape'].tolist()} in LiteRT, "
                f"{size} bytes); convert or download it again"
            )
