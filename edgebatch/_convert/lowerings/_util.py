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


def is_weight(value) -> bool:
    """A weight of the model: a tf.Variable, or an eager constant (tf_graph.WeightStore)."""
    return isinstance(value, tf.Variable) or (
        isinstance(value, tf.Tensor) and not tf.is_symbolic_tensor(value))


def binary_operands(ctx, a, b):
    """Both operands in the node's output dtype (torch's type promotion already decided it)."""
    dtype = out_tf_dtype(ctx)
    a, b = as_tensor(a, dtype), as_tensor(b, dtype)
    return _without_leading_unit_dims(a, b), _without_leading_unit_dims(b, a)


def on_constant(fn, x):
    """`fn(x)`, computed now if x is a constant weight (an eager tensor), so the result is a
    constant weight too: lowerings that look for weights (a mul folded into a layer, an int8
    weight) see through the reshapes and transposes the layout pass puts on them."""
    if isinstance(x, tf.Tensor) and not tf.is_symbolic_tensor(x):
        with tf.init_scope():
            return fn(x)
    return fn(x)


def _without_leading_unit_dims(weight, other):
    """A weight broadcast against `other` without its leading size-1 dims ([1, 1, C] → [C]),
    which broadcasts the same. TF's converter folds a multiplier into the preceding
    FULLY_CONNECTED with the multiplier's shape as the bias's: a [1, 1, C] bias, which
    XNNPACK refuses, so those layers ran on slow reference kernels (convnext's layer scale)."""
    if not is_weight(weight) or other.shape.rank is None or weight.shape.rank > other.shape.rank:
        return weight
    dims = weight.shape.as_list()
    keep = next((i for i, d in enumerate(dims) if d != 1), len(dims))
    return on_constant(lambda w: tf.reshape(w, dims[keep:]), weight) if keep else weight


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
