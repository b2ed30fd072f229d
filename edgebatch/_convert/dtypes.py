"""torch ↔ TensorFlow dtype mapping. int64 never reaches the flatbuffer: it becomes int32."""

from __future__ import annotations

import numpy as np
import torch

from edgebatch._imports import tensorflow

tf = tensorflow()

_TORCH_TO_TF = {
    torch.float32: tf.float32,
    torch.float64: tf.float32,
    torch.float16: tf.float16,
    torch.bfloat16: tf.float32,
    torch.int64: tf.int32,
    torch.int32: tf.int32,
    torch.int16: tf.int16,
    torch.int8: tf.int8,
    torch.uint8: tf.uint8,
    torch.bool: tf.bool,
}

_INT32 = np.iinfo(np.int32)


def tf_dtype(dtype: torch.dtype):
    try:
        return _TORCH_TO_TF[dtype]
    except KeyError:
        raise TypeError(f"dtype {dtype} has no TFLite counterpart") from None


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A weight or constant as the numpy array TF should hold (int64 → int32, checked)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.int64:
        if tensor.numel() and (tensor.min() < _INT32.min or tensor.max() > _INT32.max):
            raise OverflowError("an int64 constant does not fit in int32")
        return tensor.to(torch.int32).numpy()
    if tensor.dtype in (torch.float64, torch.bfloat16):
        return tensor.to(torch.float32).numpy()
    return tensor.numpy()
