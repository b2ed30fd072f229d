"""Sizes of dynamic dims as TensorFlow scalars.

torch.export names each dynamic input dim by a sympy symbol (s0, s1, ...); every other
symbolic size in the graph is an expression of them (s0*s1, s1 - 1, (s1 + 1)//2). Bound
to the lowered function's inputs, such an expression becomes a scalar computed from
tf.shape at run time, so a reshape can name every dim instead of relying on one -1.
"""

from __future__ import annotations

import operator
from functools import reduce

import sympy
import torch
from torch.utils._sympy.functions import FloorDiv, Mod, PythonMod

from edgebatch._imports import tensorflow

tf = tensorflow()


class SymbolicSizes:
    """Symbol -> TF scalar, bound from the inputs; evaluates size expressions."""

    def __init__(self) -> None:
        self._symbols: dict[sympy.Symbol, tf.Tensor] = {}

    def bind_inputs(self, input_nodes: list[torch.fx.Node], inputs) -> None:
        for node, value in zip(input_nodes, inputs):
            for dim, size in enumerate(node.meta["val"].shape):
                expr = size.node.expr if isinstance(size, torch.SymInt) else None
                if isinstance(expr, sympy.Symbol) and expr not in self._symbols:
                    self._symbols[expr] = tf.shape(value, out_type=tf.int32)[dim]

    def value(self, size) -> tf.Tensor | int | None:
        """`size` (an int or torch.SymInt) as an int or a TF int32 scalar; None if it
        holds a symbol no input dim defines or an operation this does not evaluate."""
        if isinstance(size, int):
            return size
        try:
            return self._evaluate(size.node.expr)
        except (KeyError, NotImplementedError):
            return None

    def _evaluate(self, expr):
        if expr.is_Integer:
            return int(expr)
        if expr.is_Symbol:
            return self._symbols[expr]
        args = [self._evaluate(a) for a in expr.args]
        if isinstance(expr, sympy.Add):
            return reduce(operator.add, args)
        if isinstance(expr, sympy.Mul):
            return reduce(operator.mul, args)
        if isinstance(expr, FloorDiv):
            return args[0] // args[1]
        if isinstance(expr, (Mod, PythonMod)):
            return args[0] % args[1]
        raise NotImplementedError(type(expr).__name__)
