"""Random numbers (rand, randn, randperm, multinomial) and inference-mode dropout.

They lower to TFLite's random built-ins (RANDOM_UNIFORM, RANDOM_STANDARD_NORMAL,
MULTINOMIAL): each run draws new numbers, as torch does; the values are not torch's.
"""

from __future__ import annotations

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.lowerings._util import out_tf_dtype, tf_rank
from edgebatch._convert.lowerings.registry import lower
from edgebatch._convert.lowerings.shape import output_shape

tf = tensorflow()
aten = torch.ops.aten


# rand(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
#      bool? pin_memory=None) -> Tensor
@lower(aten.rand.default)
def aten_rand(ctx, size, **_):
    # RANDOM_UNIFORM draws float32; another float dtype is a cast away.
    return tf.cast(tf.random.uniform(output_shape(ctx, size)), out_tf_dtype(ctx))


# randn(SymInt[] size, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None,
#       bool? pin_memory=None) -> Tensor
@lower(aten.randn.default)
def aten_randn(ctx, size, **_):
    return tf.cast(tf.random.normal(output_shape(ctx, size)), out_tf_dtype(ctx))


# randperm(SymInt n, *, ScalarType? dtype=long, Layout? layout=None, Device? device=None,
#          bool? pin_memory=None) -> Tensor
@lower(aten.randperm.default)
def aten_randperm(ctx, n, **_):
    # The order that sorts n uniform draws is a uniformly random permutation.
    _, order = tf.math.top_k(tf.random.uniform([n]), k=n)
    return tf.cast(order, out_tf_dtype(ctx))


# multinomial(Tensor self, SymInt num_samples, bool replacement=False, *,
#             Generator? generator=None) -> Tensor
@lower(aten.multinomial.default)
def aten_multinomial(ctx, self, num_samples, replacement=False, *, generator=None):
    logits = tf.math.log(self if tf_rank(self) == 2 else tf.expand_dims(self, 0))
    if replacement or num_samples == 1:
        samples = tf.random.categorical(logits, num_samples, dtype=tf.int32)
    else:
        # Without replacement: the k largest of log p + Gumbel noise are k draws in order.
        uniform = tf.random.uniform(tf.shape(logits), minval=1e-20, maxval=1.0)
        _, samples = tf.math.top_k(logits - tf.math.log(-tf.math.log(uniform)), k=num_samples)
    samples = tf.cast(samples, out_tf_dtype(ctx))
    return samples if tf_rank(self) == 2 else tf.squeeze(samples, [0])


# native_dropout(Tensor input, float p, bool? train) -> (Tensor, Tensor)
@lower(aten.native_dropout.default)
def aten_native_dropout(ctx, input, p, train):
    if train is None or train:
        raise NotImplementedError(
            "native_dropout with train=True draws a random mask: that is training behaviour")
    return input, tf.ones_like(input, dtype=tf.bool)
