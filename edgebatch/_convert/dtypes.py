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


_DLPACK_DTYPES = (torch.float32, torch.float16, torch.int32, torch.int16, torch.int8, torch.uint8,
                  torch.bool)


def _as_stored(tensor: torch.Tensor) -> torch.Tensor:
    """A weight or constant in the dtype TF should hold (int64 → int32, checked)."""
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.int64:
        if tensor.numel() and (tensor.min() < _INT32.min or tensor.max() > _INT32.max):
            raise OverflowError("an int64 constant does not fit in int32")
        return tensor.to(torch.int32)
    if tensor.dtype in (torch.float64, torch.bfloat16):
        return tensor.to(torch.float32)
    return tensor


def to_tensorflow(tensor: torch.Tensor):
    """A weight as a TF tensor sharing the torch tensor's memory where DLPack allows, so
    handing a model's weights to TensorFlow does not copy them (the DLPack capsule keeps
    the torch tensor alive)."""
    stored = _as_stored(tensor)
    if stored.dtype in _DLPACK_DTYPES and stored.numel():
        return tf.experimental.dlpack.from_dlpack(
            torch.utils.dlpack.to_dlpack(stored.contiguous()))
    return tf.constant(stored.numpy())
