"""Import-order guard: torch (with torch._dynamo) must be loaded before tensorflow.

In this stack, loading triton (pulled in by torch._dynamo, torchvision and
torch.export) after tensorflow crashes the process with an LLVM symbol clash.
Importing edgebatch loads torch's side first. If tensorflow is already loaded
when edgebatch is imported, triton is blocked instead: edgebatch runs on CPU and
never needs it, and torch treats a missing triton as "no GPU compiler".
"""

from __future__ import annotations

import os
import sys


# TensorFlow's C++ start-up chatter (oneDNN notices, CPU feature lines) is noise here.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _block_triton() -> None:
    for name in ("triton", "triton.language", "triton.runtime"):
        sys.modules.setdefault(name, None)  # `import triton` now raises ImportError


def ensure_torch_before_tensorflow() -> None:
    if "tensorflow" in sys.modules and "triton" not in sys.modules:
        _block_triton()
    import torch  # noqa: F401
    import torch._dynamo  # noqa: F401
    import torch.export  # noqa: F401


def tensorflow():
    """Return the tensorflow module, importing it only after torch."""
    ensure_torch_before_tensorflow()
    import tensorflow as tf

    return tf
