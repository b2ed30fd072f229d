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
    if "tensorflow" not in sys.modules:
        _import_tensorflow_without_keras()
    import tensorflow as tf

    return tf


def _import_tensorflow_without_keras() -> None:
    """TensorFlow's __init__ imports all of Keras (and, through Keras' wrappers,
    scikit-learn where installed) only to register Keras' optimizers for SavedModels of
    Keras models, which edgebatch never makes. Keeping Keras out of that import saves
    ~110 MB of resident memory and ~1 s per process; `tf.keras` still loads on first use."""
    block = "keras" not in sys.modules
    if block:
        sys.modules["keras"] = None  # TF's `import keras.src.optimizers` raises ImportError
    try:
        import tensorflow  # noqa: F401
    finally:
        if block and sys.modules.get("keras", False) is None:
            del sys.modules["keras"]
