"""Convert a module through the full pipeline and compare it with PyTorch."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

import edgebatch


def _flat(out) -> list[np.ndarray]:
    if isinstance(out, dict):
        return [np.asarray(v) for v in out.values()]
    if isinstance(out, (tuple, list)):
        return [np.asarray(o.detach().numpy() if isinstance(o, torch.Tensor) else o) for o in out]
    return [out.detach().numpy() if isinstance(out, torch.Tensor) else np.asarray(out)]


def assert_converts(module, args, kwargs=None, *, atol=1e-5, rtol=1e-5, **convert_kwargs):
    """Convert `module`, run it with LiteRT and assert it matches PyTorch. Returns the model."""
    module = module.eval() if isinstance(module, torch.nn.Module) else module
    with torch.no_grad():
        expected = _flat(module(*args, **(kwargs or {})))
    converted = edgebatch.convert(module, args, kwargs, **convert_kwargs)
    actual = _flat(converted(*args, **(kwargs or {})))
    assert len(actual) == len(expected), f"{len(actual)} outputs, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        assert a.shape == e.shape, f"output {i}: shape {a.shape} != {e.shape}"
        if e.dtype == np.int64:
            e = e.astype(np.int32)
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=f"output {i}")
    return converted


def op_counts(model) -> Counter:
    """Histogram of TFLite op names in a converted model."""
    interpreter = model._get_interpreter()
    return Counter(op["op_name"] for op in interpreter._get_ops_details())
