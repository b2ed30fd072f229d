"""Symbolic sizes: sym_size and the Python arithmetic torch.export records on SymInts.

A static size lowers to a Python int (TF folds it); a dynamic one to an int32 scalar
tensor computed from the runtime shape, so the model stays resizable.
"""

from __future__ import annotations

import math
import operator

import torch

from edgebatch._imports import tensorflow
from edgebatch._convert.ir.nodes import norm_dim
from edgebatch._convert.lowerings._util import tf_rank
from edgebatch._convert.lowerings.registry import lower

tf = tensorflow()
aten = torch.ops.aten


# sym_size.int(Tensor self, int dim) -> SymInt
@lower(aten.sym_size.int)
def aten_sym_size(ctx, self, dim):
    dim = norm_dim(dim, tf_rank(self))
    static = self.shape[dim]
    return static if static is not None else tf.shape(self, out_type=tf.int32)[dim]


# sym_numel(Tensor self) -> SymInt
@lower(aten.sym_numel)
def aten_sym_numel(ctx, self):
    if self.shape.is_fully_defined():
        return math.prod(self.shape.as_list())
    return tf.size(self, out_type=tf.int32)


# _assert_scalar / sym_constrain_range*: torch.export's guards on sizes, checked at export time
@lower(aten._assert_scalar, aten.sym_constrain_range_for_size, aten.sym_constrain_range,
       aten._assert_tensor_metadata)
def aten_runtime_assert(ctx, *args, **kwargs):
    return None


def _int_arithmetic(py_op, tf_op):
    def lowering(ctx, a, b):
        if isinstance(a, int) and isinstance(b, int):
            return py_op(a, b)
        return tf_op(tf.cast(a, tf.int32), tf.cast(b, tf.int32))

    return lowering


for _py_op, _tf_op in [
    (operator.add, tf.add), (operator.sub, tf.subtract), (operator.mul, tf.multiply),
    (operator.floordiv, tf.math.floordiv), (operator.mod, tf.math.floormod),
]:
    lower(_py_op)(_int_arithmetic(_py_op, _tf_op))


for _py_op, _tf_op in [
    (operator.eq, tf.equal), (operator.ne, tf.not_equal), (operator.lt, tf.less),
    (operator.le, tf.less_equal), (operator.gt, tf.greater), (operator.ge, tf.greater_equal),
]:
    lower(_py_op)(_int_arithmetic(_py_op, _tf_op))
