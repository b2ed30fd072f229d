"""Runtime asserts and `.item()` reads (size arithmetic lives in symbolic.py)."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


# _assert_async.msg(Tensor self, str assert_msg) -> ()
@lower(aten._assert_async.msg)
def aten_assert_async(ctx, self, assert_msg):
    # A data check (e.g. one_hot's "class values must be non-negative"); TFLite has no
    # assert op, so the check is dropped like torch.export's other runtime asserts.
    return None


# _local_scalar_dense(Tensor self) -> Scalar
@lower(aten._local_scalar_dense.default)
def aten_local_scalar_dense(ctx, self):
    # `tensor.item()`: the value stays a runtime scalar (a data-dependent size, say).
    return tf.reshape(self, [])
