"""Matrix products (mm, bmm, linear, matmul and the add* fused forms) and distances."""

from __future__ import annotations

import numpy as np
import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import tf_rank
from edgebatch._convert.lowerings.reduction import vector_norm
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


# mm(Tensor self, Tensor mat2) -> Tensor
# bmm(Tensor self, Tensor mat2) -> Tensor
@lower(aten.mm.default, aten.bmm.default)
def aten_mm(ctx, self, mat2):
    return tf.matmul(self, mat2)


def _add_scaled(self, product, beta, alpha):
    """beta * self + alpha * product; beta == 0 ignores self (even NaN), as torch does."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    return product + (self if beta == 1 else self * beta)


# addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor
@lower(aten.addmm.default)
def aten_addmm(ctx, self, mat1, mat2, *, beta=1, alpha=1):
    return _add_scaled(self, tf.matmul(mat1, mat2), beta, alpha)


# baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor
@lower(aten.baddbmm.default)
def aten_baddbmm(ctx, self, batch1, batch2, *, beta=1, alpha=1):
    return _add_scaled(self, tf.matmul(batch1, batch2), beta, alpha)


# addbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor
@lower(aten.addbmm.default)
def aten_addbmm(ctx, self, batch1, batch2, *, beta=1, alpha=1):
    return _add_scaled(self, tf.reduce_sum(tf.matmul(batch1, batch2), axis=0), beta, alpha)


# addmv(Tensor self, Tensor mat, Tensor vec, *, Scalar beta=1, Scalar alpha=1) -> Tensor
@lower(aten.addmv.default)
def aten_addmv(ctx, self, mat, vec, *, beta=1, alpha=1):
    product = tf.squeeze(tf.matmul(mat, tf.expand_dims(vec, -1)), -1)
    return _add_scaled(self, product, beta, alpha)


# linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor
@lower(aten.linear.default)
def aten_linear(ctx, input, weight, bias=None):
    # transpose_b keeps the weight in torch's [out, in] layout, which is what
    # TFLite's FULLY_CONNECTED stores: no transpose of the constant. Inputs of higher rank
    # are flattened to 2-D for the same reason (tf.tensordot would transpose the weight,
    # and TF's converter would fold a transposed copy of it: +165 MB peak on vit_b_16).
    if tf_rank(input) == 2:
        y = tf.matmul(input, weight, transpose_b=True)
    else:
        out_features, in_features = weight.shape
        y = tf.matmul(tf.reshape(input, [-1, in_features]), weight, transpose_b=True)
        leading = input.shape[:-1]
        y = tf.reshape(y, leading.as_list() + [out_features] if leading.is_fully_defined()
                       else tf.concat([tf.shape(input)[:-1], [out_features]], 0))
    return y if bias is None else y + bias


# matmul(Tensor self, Tensor other) -> Tensor
@lower(aten.matmul.default)
def aten_matmul(ctx, self, other):
    if tf_rank(self) == 1 and tf_rank(other) == 1:
        return tf.reduce_sum(self * other)
    if tf_rank(other) == 1:
        return tf.squeeze(tf.matmul(self, tf.expand_dims(other, -1)), -1)
    if tf_rank(self) == 1:
        # v @ M as Mᵀ v: TF's converter mis-builds [1, K] @ [K, N] when M is no constant.
        return tf.squeeze(tf.matmul(other, tf.expand_dims(self, -1), transpose_a=True), -1)
    return tf.matmul(self, other)


# _cdist_forward(Tensor x1, Tensor x2, float p, int? compute_mode) -> Tensor
@lower(aten._cdist_forward.default)
def aten_cdist_forward(ctx, x1, x2, p, compute_mode):
    # Norms of the pairwise differences [..., P, R, M]: exact for every p, without the
    # cancellation of |a|^2 + |b|^2 - 2ab.
    difference = tf.expand_dims(x1, -2) - tf.expand_dims(x2, -3)
    return vector_norm(difference, p, -1, keepdim=False)


# _pdist_forward(Tensor self, float p=2.) -> Tensor
@lower(aten._pdist_forward.default)
def aten_pdist_forward(ctx, self, p=2.0):
    # The rows i < j in torch's order (row-major upper triangle), gathered as two constants.
    first, second = np.triu_indices(self.shape[0], k=1)
    difference = tf.gather(self, first.astype(np.int32)) - tf.gather(self, second.astype(np.int32))
    return vector_norm(difference, p, -1, keepdim=False)
