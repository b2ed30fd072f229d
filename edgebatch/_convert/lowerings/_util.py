"""Small helpers shared by lowerings."""

from __future__ import annotations

from edgebatch._imports import tensorflow
from edgebatch._convert.dtypes import tf_dtype
from edgebatch._convert.ir.nodes import norm_dim

tf = tensorflow()


def tf_rank(x) -> int:
    """The number of dims of a TF value."""
    return x.shape.rank


def norm_dims(dims, ndim: int) -> list[int]:
    if dims is None:
        return list(range(ndim))
    if isinstance(dims, int):
        dims = [dims]
    return [norm_dim(d, ndim) for d in dims]


def as_tensor(value, dtype=None):
    """A TF tensor from a TF value or a Python scalar, cast to `dtype` if given."""
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return value if dtype is None or value.dtype == dtype else tf.cast(value, dtype)
    return tf.constant(value, dtype=dtype)


def out_tf_dtype(ctx, index: int | None = None):
    return tf_dtype(ctx.out_dtype(index))


def binary_operands(ctx, a, b):
    """Both operands in the node's output dtype (torch's type promotion already decided it)."""
    dtype = out_tf_dtype(ctx)
    return as_tensor(a, dtype), as_tensor(b, dtype)


def static_shape(ctx, index: int | None = None) -> list:
    """The output shape as a list usable by tf.reshape: ints, or -1/tensors for symbolic dims."""
    return [d if isinstance(d, int) else -1 for d in ctx.out_shape(index)]


def dynamic_shape(x) -> list:
    """x's shape with Python ints where known and scalar tensors where not."""
    static = x.shape.as_list()
    if all(d is not None for d in static):
        return static
    dyn = tf.shape(x)
    return [d if d is not None else dyn[i] for i, d in enumerate(static)]


def nchw_to_nhwc(x):
    n = tf_rank(x)
    return tf.transpose(x, [0, *range(2, n), 1])


def nhwc_to_nchw(x):
    n = tf_rank(x)
    return tf.transpose(x, [0, n - 1, *range(1, n - 1)])
