"""Matrix products: mm, bmm, addmm, linear, matmul."""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


@lower(aten.mm, aten.bmm)
def aten_mm(ctx, self, mat2):
    return tf.matmul(self, mat2)


# addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor
@lower(aten.addmm)
def aten_addmm(ctx, self, mat1, mat2, beta=1, alpha=1):
    product = tf.matmul(mat1, mat2)
    if alpha != 1:
        product = product * alpha
    return product + (self * beta if beta != 1 else self) if beta != 0 else product


# baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor
@lower(aten.baddbmm)
def aten_baddbmm(ctx, self, batch1, batch2, beta=1, alpha=1):
    return aten_addmm(ctx, self, batch1, batch2, beta=beta, alpha=alpha)


# linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor
@lower(aten.linear)
def aten_linear(ctx, input, weight, bias=None):
    # transpose_b keeps the weight in torch's [out, in] layout, which is what
    # TFLite's FULLY_CONNECTED stores: no transpose of the constant.
    if rank(input) == 2:
        y = tf.matmul(input, weight, transpose_b=True)
    else:
        y = tf.tensordot(input, weight, [[rank(input) - 1], [1]])
    return y if bias is None else y + bias


# matmul(Tensor self, Tensor other) -> Tensor
@lower(aten.matmul)
def aten_matmul(ctx, self, other):
    if rank(self) == 1 and rank(other) == 1:
        return tf.reduce_sum(self * other)
    if rank(other) == 1:
        return tf.squeeze(tf.matmul(self, tf.expand_dims(other, -1)), -1)
    if rank(self) == 1:
        return tf.squeeze(tf.matmul(tf.expand_dims(self, 0), other), -2)
    return tf.matmul(self, other)
