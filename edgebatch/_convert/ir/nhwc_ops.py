"""Channels-last ops (`torch.ops.edgebatch.*`) that the layout pass emits.

Each takes and returns channels-last tensors (N, *spatial, C). Their torch
implementations (also their fake/meta implementations) are the ATen op between
two permutes, so a rewritten graph still runs in torch and its `meta["val"]` stays
right; the lowerings in `lowerings/` turn them into NHWC TensorFlow ops directly.
A new channels-last op is defined here, chosen by a rule in the layout pass
(`passes/layout/rules/anchors.py`) and lowered in its op family's lowering module.
"""

from __future__ import annotations

from typing import List, Optional

import torch
from torch import Tensor

aten = torch.ops.aten


def _cf(x: Tensor) -> Tensor:
    """(N, *spatial, C) → (N, C, *spatial)."""
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def _cl(x: Tensor) -> Tensor:
    """(N, C, *spatial) → (N, *spatial, C), contiguous."""
    return x.permute(0, *range(2, x.dim()), 1).clone(memory_format=torch.contiguous_format)


def _op(name: str, fn):
    """Register `fn` as edgebatch::<name>, with itself as the fake implementation."""
    op = torch.library.custom_op(f"edgebatch::{name}", mutates_args=())(fn)
    op.register_fake(fn)
    return getattr(torch.ops.edgebatch, name).default


def _conv_cl(x: Tensor, weight: Tensor, bias: Optional[Tensor], stride: List[int],
             padding: List[int], dilation: List[int], transposed: bool,
             output_padding: List[int], groups: int) -> Tensor:
    """aten.convolution on channels-last x; `padding` is (before, after) per spatial dim."""
    xc = _cf(x)
    before, after = list(padding[0::2]), list(padding[1::2])
    if before == after:
        pad = before
    else:
        flat: list[int] = []
        for b, a in reversed(list(zip(before, after))):
            flat += [b, a]
        xc = aten.constant_pad_nd(xc, flat, 0.0)
        pad = [0] * len(before)
    y = aten.convolution(xc, weight, bias, stride, pad, dilation, transposed, output_padding, groups)
    return _cl(y)


def _max_pool_cl(x: Tensor, kernel: List[int], stride: List[int], padding: List[int],
                 dilation: List[int], ceil_mode: bool) -> Tensor:
    if len(kernel) == 3:
        y = aten.max_pool3d_with_indices(_cf(x), kernel, stride, padding, dilation, ceil_mode)[0]
    else:
        y = aten.max_pool2d_with_indices(_cf(x), kernel, stride, padding, dilation, ceil_mode)[0]
    return _cl(y)


def _avg_pool_cl(x: Tensor, kernel: List[int], stride: List[int], padding: List[int],
                 ceil_mode: bool, count_include_pad: bool,
                 divisor_override: Optional[int]) -> Tensor:
    pool = aten.avg_pool3d if len(kernel) == 3 else aten.avg_pool2d
    return _cl(pool(_cf(x), kernel, stride, padding, ceil_mode, count_include_pad,
                    divisor_override))


def _adaptive_avg_pool_cl(x: Tensor, output_size: List[int]) -> Tensor:
    return _cl(aten._adaptive_avg_pool2d(_cf(x), output_size))


def _adaptive_max_pool_cl(x: Tensor, output_size: List[int]) -> Tensor:
    return _cl(aten.adaptive_max_pool2d(_cf(x), output_size)[0])


def _resize_cl(x: Tensor, size: List[int], mode: str, align_corners: bool) -> Tensor:
    """torch's `interpolate(size=...)` for mode 'bilinear' or 'nearest' (legacy)."""
    xc = _cf(x)
    if mode == "bilinear":
        y = aten.upsample_bilinear2d.vec(xc, size, align_corners, None)
    else:
        y = aten.upsample_nearest2d.vec(xc, size, None)
    return _cl(y)


def _depth_to_space(x: Tensor, block: int) -> Tensor:
    """TF's DEPTH_TO_SPACE (DCR): out[n, h*r+i, w*r+j, c] = x[n, h, w, (i*r+j)*C + c]."""
    n, h, w, c = x.shape
    y = x.reshape(n, h, w, block, block, c // (block * block))
    return y.permute(0, 1, 3, 2, 4, 5).reshape(n, h * block, w * block, c // (block * block))


def _space_to_depth(x: Tensor, block: int) -> Tensor:
    """TF's SPACE_TO_DEPTH: the inverse of _depth_to_space."""
    n, h, w, c = x.shape
    y = x.reshape(n, h // block, block, w // block, block, c)
    return y.permute(0, 1, 3, 2, 4, 5).reshape(n, h // block, w // block, c * block * block)


def _group_norm_cl(x: Tensor, weight: Optional[Tensor], bias: Optional[Tensor], groups: int,
                   eps: float) -> Tensor:
    return _cl(torch.nn.functional.group_norm(_cf(x), groups, weight, bias, eps))


conv_cl = _op("conv_cl", _conv_cl)
max_pool_cl = _op("max_pool_cl", _max_pool_cl)
avg_pool_cl = _op("avg_pool_cl", _avg_pool_cl)
adaptive_avg_pool_cl = _op("adaptive_avg_pool_cl", _adaptive_avg_pool_cl)
adaptive_max_pool_cl = _op("adaptive_max_pool_cl", _adaptive_max_pool_cl)
resize_cl = _op("resize_cl", _resize_cl)
depth_to_space = _op("depth_to_space", _depth_to_space)
space_to_depth = _op("space_to_depth", _space_to_depth)
group_norm_cl = _op("group_norm_cl", _group_norm_cl)
