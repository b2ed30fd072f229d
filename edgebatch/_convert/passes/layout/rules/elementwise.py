"""Element-wise ops follow any layout; lower-rank operands broadcast along it.

The frame is the output's layout. An operand of the same rank arrives in that
layout; a lower-rank operand (torch broadcasts it from the right) arrives with its
own dims in the frame's order, reshaped if needed so that it still broadcasts
against the physical output. Constant operands (weights, BN scales, per-channel
vectors) are laid out at conversion time, so they never cost a transpose.
"""

from __future__ import annotations

import torch

from edgebatch._convert.ir.nodes import is_tensor_node, rank, shape, val
from edgebatch._convert.passes.layout.perm import identity, is_one, permute_list
from edgebatch._convert.passes.layout.rules.registry import Plan, PermRule, register

aten = torch.ops.aten

_UNARY = [
    aten.relu, aten.relu6, aten.gelu, aten.silu, aten.hardswish, aten.hardsigmoid, aten.sigmoid,
    aten.tanh, aten.elu, aten.leaky_relu, aten.softplus, aten.mish, aten.neg, aten.abs, aten.exp,
    aten.exp2, aten.log, aten.log2, aten.log10, aten.sqrt, aten.rsqrt, aten.sin, aten.cos, aten.tan,
    aten.asin, aten.acos, aten.atan, aten.sinh, aten.cosh, aten.asinh, aten.acosh, aten.atanh,
    aten.floor, aten.ceil, aten.round, aten.sign, aten.sgn, aten.reciprocal, aten.erf, aten.erfc,
    aten.log1p, aten.expm1, aten.square, aten.trunc, aten.logical_not, aten.bitwise_not,
    aten.isnan, aten.isinf, aten.logit, aten.nan_to_num, aten.clone, aten.alias, aten.detach,
    aten.lift_fresh_copy, aten._to_copy, aten.hardtanh, aten.clamp, aten.clamp_min, aten.clamp_max,
    aten.zeros_like, aten.ones_like, aten.full_like, aten.empty_like, aten.fill,
]
_NARY = [
    aten.add, aten.sub, aten.rsub, aten.mul, aten.div, aten.remainder, aten.fmod, aten.pow,
    aten.maximum, aten.minimum, aten.fmax, aten.fmin, aten.atan2, aten.eq, aten.ne, aten.lt,
    aten.le, aten.gt, aten.ge, aten.logical_and, aten.logical_or, aten.logical_xor,
    aten.bitwise_and, aten.bitwise_or, aten.bitwise_xor, aten.where, aten.masked_fill, aten.lerp,
    aten.addcmul, aten.addcdiv, aten.copy, aten.bitwise_left_shift, aten.bitwise_right_shift,
]

_QUANT_TENSOR_OPS = []
try:
    import torch.ao.quantization.fx._decomposed  # noqa: F401

    _qd = torch.ops.quantized_decomposed
    _QUANT_TENSOR_OPS = [
        _qd.quantize_per_tensor.default, _qd.quantize_per_tensor.tensor,
        _qd.quantize_per_tensor.tensor2, _qd.dequantize_per_tensor.default,
        _qd.dequantize_per_tensor.tensor, _qd.dequantize_per_tensor.tensor2,
    ]
except (ImportError, AttributeError):  # pragma: no cover
    pass

# keyword arguments that describe torch's memory format: meaningless once layout is explicit
_MEMORY_KWARGS = ("memory_format",)


def operand_perm(frame, operand_rank: int):
    """The layout a right-aligned operand of `operand_rank` needs in a frame of higher rank."""
    lead = len(frame) - operand_rank
    return tuple(d - lead for d in frame if d >= lead)


def broadcast_shape(frame, operand_shape) -> list:
    """Physical shape that makes an operand broadcast against an output held in `frame`."""
    lead = len(frame) - len(operand_shape)
    full = [1] * lead + list(operand_shape)
    phys = permute_list(full, frame)
    while len(phys) > len(operand_shape) and is_one(phys[0]):
        phys = phys[1:]
    while phys and is_one(phys[0]) and len(phys) > len(operand_shape):
        phys = phys[1:]
    return phys


def needs_reshape(frame, operand_shape) -> bool:
    """True if the operand, permuted into `frame`'s order, does not broadcast without a reshape."""
    perm = operand_perm(frame, len(operand_shape))
    return list(permute_list(operand_shape, perm)) != broadcast_shape(frame, operand_shape)


@register(*_UNARY, *_NARY, *_QUANT_TENSOR_OPS)
class Elementwise(PermRule):
    """Frame = the output's layout."""

    def identity_frame(self, node):
        return identity(rank(node))

    def frame_from_input(self, node, producer, perm):
        return perm if len(perm) == rank(node) else None

    def plan(self, node, frame):
        if not isinstance(val(node), torch.Tensor) or len(frame) != rank(node):
            return None
        needs = []
        for n in _operands(node):
            r = rank(n)
            if r > len(frame):
                return None
            if r < len(frame) and needs_reshape(frame, shape(n)):
                if any(not isinstance(s, int) for s in shape(n)):
                    return None
            needs.append((n, operand_perm(frame, r)))
        return Plan(needs, [tuple(frame)])

    def rewrite(self, node, frame, plan, b):
        kwargs = {k: v for k, v in node.kwargs.items() if k not in _MEMORY_KWARGS}
        it = iter(plan.needs)

        def operand(n):
            if not is_tensor_node(n):
                return b.value(n)
            _, perm = next(it)
            x = b.input(n, perm)
            if rank(n) < len(frame) and needs_reshape(frame, shape(n)):
                x = b.call(aten.view.default, (x, broadcast_shape(frame, shape(n))))
            return x

        args, kwargs = torch.fx.node.map_arg((node.args, kwargs), operand)
        return b.call(node.target, args, kwargs)


def _operands(node):
    found = []
    torch.fx.node.map_arg((node.args, node.kwargs),
                          lambda n: found.append(n) if is_tensor_node(n) else None)
    return found
