"""Ops that want channels-last: convolution, pooling, resize, depth-to-space, norms.

Their frame "cl" means: the activation arrives channels-last and the op is replaced by
its `edgebatch::*_cl` twin (see ir/nhwc_ops.py). Weights stay in torch's layout in the
graph; the lowerings hand them to TF in its layout, and TF's converter folds that into
the constant, so no TRANSPOSE of a weight reaches the flatbuffer.
"""

from __future__ import annotations

import operator

import torch

from edgebatch._convert.ir import nhwc_ops
from edgebatch._convert.ir.nodes import arg, is_tensor_node, rank, shape, tensor_inputs, val
from edgebatch._convert.passes.layout.perm import channels_last, identity
from edgebatch._convert.passes.layout.rules.registry import (
    Plan, PermRule, Rule, is_constant, register,
)

aten = torch.ops.aten
CL = "cl"


def _used_outputs(node) -> set[int]:
    return {u.args[1] for u in node.users if u.target is operator.getitem}


def _expand(values, n: int) -> list[int]:
    values = [values] if isinstance(values, int) else list(values)
    return values * n if len(values) == 1 else values


class ChannelsLast(Rule):
    """Frame "cl" (or torch's layout when `supported` says no)."""

    also_torch_layout = False

    def supported(self, node) -> bool:
        return True

    def fixed_frames(self, node):
        if not self.supported(node):
            return [None]
        return [CL, None] if self.also_torch_layout else [CL]

    def plan(self, node, frame):
        if frame != CL:
            return super().plan(node, frame)
        x = node.args[0]
        needs = [(x, channels_last(rank(x)))]
        needs += [(n, identity(rank(n))) for n in tensor_inputs(node)[1:]]
        outs = [channels_last(rank(node))] if isinstance(val(node), torch.Tensor) else \
            [channels_last(v.dim()) if i == 0 else None for i, v in enumerate(val(node))]
        return Plan(needs, outs)

    def rewrite(self, node, frame, plan, b):
        if frame != CL:
            return b.copy_with_inputs(node, plan)
        return self.rewrite_cl(node, b, b.input(node.args[0], plan.needs[0][1]))


# --- convolution --------------------------------------------------------------------------

@register(aten.convolution)
class Convolution(ChannelsLast):
    def supported(self, node):
        return 1 <= rank(node.args[0]) - 2 <= 3

    def rewrite_cl(self, node, b, x):
        (_, weight, bias, stride, padding, dilation, transposed, output_padding,
         groups) = node.args
        spatial = rank(node.args[0]) - 2
        pads = []
        for p in _expand(padding, spatial):
            pads += [p, p]
        if not transposed:
            folded = self.fold_pad(node.args[0], spatial, b)
            if folded is not None:
                x, extra = folded
                pads = [p + e for p, e in zip(pads, extra)]
        return b.call(nhwc_ops.conv_cl, (
            x, b.value(weight), b.value(bias) if bias is not None else None,
            _expand(stride, spatial), pads, _expand(dilation, spatial), bool(transposed),
            _expand(output_padding, spatial), groups,
        ))

    def fold_pad(self, source, spatial, b):
        """A zero constant_pad_nd of the spatial dims right before the conv joins its padding."""
        if not (isinstance(source, torch.fx.Node) and source.op == "call_function"
                and source.target in (aten.constant_pad_nd.default, aten.pad.default)):
            return None
        pad = list(source.args[1])
        if source.target is aten.pad.default:
            if arg(source, 2, "mode", "constant") != "constant":
                return None
            value = arg(source, 3, "value", None) or 0
        else:
            value = arg(source, 2, "value", 0)
        if value != 0 or len(pad) > 2 * spatial or any(p < 0 for p in pad):
            return None
        inner = source.args[0]
        cl = channels_last(rank(inner))
        if is_constant(inner) or b.frame(source) != cl:
            return None
        extra = [0] * (2 * spatial)
        for i in range(len(pad) // 2):
            dim = spatial - 1 - i  # pad pairs run from the last spatial dim backwards
            extra[2 * dim], extra[2 * dim + 1] = pad[2 * i], pad[2 * i + 1]
        return b.input(inner, cl), extra


# --- pooling ------------------------------------------------------------------------------

@register(aten.max_pool2d_with_indices, aten.max_pool3d_with_indices)
class MaxPool(ChannelsLast):
    def spatial(self, node):
        return 3 if node.target.overloadpacket is aten.max_pool3d_with_indices else 2

    def supported(self, node):
        return 1 not in _used_outputs(node) and rank(node.args[0]) == self.spatial(node) + 2

    def rewrite_cl(self, node, b, x):
        n = self.spatial(node)
        kernel = _expand(node.args[1], n)
        stride = _expand(arg(node, 2, "stride", []) or kernel, n)
        padding = _expand(arg(node, 3, "padding", 0), n)
        dilation = _expand(arg(node, 4, "dilation", 1), n)
        ceil_mode = bool(arg(node, 5, "ceil_mode", False))
        y = b.call(nhwc_ops.max_pool_cl, (x, kernel, stride, padding, dilation, ceil_mode))
        return [y, None]


@register(aten.avg_pool2d, aten.avg_pool3d)
class AvgPool(ChannelsLast):
    def spatial(self, node):
        return 3 if node.target.overloadpacket is aten.avg_pool3d else 2

    def supported(self, node):
        return rank(node.args[0]) == self.spatial(node) + 2

    def rewrite_cl(self, node, b, x):
        n = self.spatial(node)
        kernel = _expand(node.args[1], n)
        stride = _expand(arg(node, 2, "stride", []) or kernel, n)
        padding = _expand(arg(node, 3, "padding", 0), n)
        return b.call(nhwc_ops.avg_pool_cl, (
            x, kernel, stride, padding, bool(arg(node, 4, "ceil_mode", False)),
            bool(arg(node, 5, "count_include_pad", True)), arg(node, 6, "divisor_override", None),
        ))


@register(aten._adaptive_avg_pool2d, aten.adaptive_avg_pool2d)
class AdaptiveAvgPool(ChannelsLast):
    def supported(self, node):
        return rank(node.args[0]) == 4

    def rewrite_cl(self, node, b, x):
        size = _expand(node.args[1], 2)
        if size == [1, 1]:
            return b.call(aten.mean.dim, (x, [1, 2], True))
        return b.call(nhwc_ops.adaptive_avg_pool_cl, (x, size))


@register(aten.adaptive_max_pool2d)
class AdaptiveMaxPool(ChannelsLast):
    def supported(self, node):
        return rank(node.args[0]) == 4 and 1 not in _used_outputs(node)

    def rewrite_cl(self, node, b, x):
        size = _expand(node.args[1], 2)
        if size == [1, 1]:
            return [b.call(aten.amax.default, (x, [1, 2], True)), None]
        return [b.call(nhwc_ops.adaptive_max_pool_cl, (x, size)), None]


# --- resize -------------------------------------------------------------------------------

@register(aten.upsample_bilinear2d, aten.upsample_nearest2d)
class Resize(ChannelsLast):
    """TF's RESIZE_* match torch exactly when the coordinate scale is in/out: always for
    a given size or align_corners=True, and for scale factors that give integer sizes."""

    def spec(self, node):
        bilinear = node.target.overloadpacket is aten.upsample_bilinear2d
        vec = node.target._overloadname == "vec"
        if bilinear:
            align = bool(node.args[2])
            scales = arg(node, 3, "scale_factors", None) if vec else \
                [arg(node, 3, "scales_h", None), arg(node, 4, "scales_w", None)]
        else:
            align = False
            scales = arg(node, 2, "scale_factors", None) if vec else \
                [arg(node, 2, "scales_h", None), arg(node, 3, "scales_w", None)]
        return ("bilinear" if bilinear else "nearest"), align, scales

    def supported(self, node):
        if rank(node.args[0]) != 4:
            return False
        out = shape(node)[2:]
        if any(not isinstance(s, int) for s in out):
            return False
        mode, align, scales = self.spec(node)
        if scales is None or (mode == "bilinear" and align):
            return True
        size = shape(node.args[0])[2:]
        for s_in, s_out, scale in zip(size, out, scales):
            if scale is None:
                continue
            if not isinstance(s_in, int) or abs(s_in * scale - s_out) > 1e-6:
                return False
        return True

    def rewrite_cl(self, node, b, x):
        mode, align, _ = self.spec(node)
        return b.call(nhwc_ops.resize_cl, (x, list(shape(node)[2:]), mode, align))


# --- pixel shuffle ------------------------------------------------------------------------

def _reorder_channels(b, x, split: tuple[int, int]):
    """Channel index a*split[1] + b → b*split[0] + a on a channels-last 4-D tensor."""
    n, h, w, c = b.phys_shape(x)
    s0, s1 = split
    static = all(isinstance(d, int) for d in (n, h, w))
    lead = [n * h * w] if static else [n, h, w]
    y = b.call(aten.view.default, (x, [*lead, s0, s1]))
    k = len(lead)
    y = b.call(aten.permute.default, (y, [*range(k), k + 1, k]))
    return b.call(aten.view.default, (y, [n, h, w, c] if static else [-1, h, w, c]))


@register(aten.pixel_shuffle)
class PixelShuffle(ChannelsLast):
    """DEPTH_TO_SPACE reads channels as (i, j, c); torch's pixel_shuffle as (c, i, j). The
    producing conv's output channels are reordered instead when it has no other user.
    Factor 1 (the identity) stays in torch's layout, where its lowering passes x through."""

    def supported(self, node):
        return rank(node.args[0]) == 4 and node.args[1] != 1

    def rewrite_cl(self, node, b, x):
        r = node.args[1]
        c = shape(node)[1]
        source = node.args[0]
        conv = b.value_node(x)
        if (conv is not None and conv.target is nhwc_ops.conv_cl and not conv.args[6]
                and len(source.users) == 1 and _constant_arg(b, source, 1)
                and (source.args[2] is None or _constant_arg(b, source, 2))):
            weight, bias = conv.args[1], conv.args[2]
            ws = b.phys_shape(weight)
            w = b.call(aten.view.default, (weight, [c, r * r, -1]))
            w = b.call(aten.permute.default, (w, [1, 0, 2]))
            w = b.call(aten.view.default, (w, list(ws)))
            if bias is not None:
                bias = b.call(aten.view.default, (bias, [c, r * r]))
                bias = b.call(aten.permute.default, (bias, [1, 0]))
                bias = b.call(aten.view.default, (bias, [-1]))
            x = b.call(nhwc_ops.conv_cl, (conv.args[0], w, bias, *conv.args[3:]))
        else:
            x = _reorder_channels(b, x, (c, r * r))
        return b.call(nhwc_ops.depth_to_space, (x, r))


def _constant_arg(b, node, index) -> bool:
    value = node.args[index]
    return is_constant(value)


@register(aten.pixel_unshuffle)
class PixelUnshuffle(ChannelsLast):
    def supported(self, node):
        return rank(node.args[0]) == 4 and node.args[1] != 1

    def rewrite_cl(self, node, b, x):
        r = node.args[1]
        c = shape(node.args[0])[1]
        y = b.call(nhwc_ops.space_to_depth, (x, r))
        return _reorder_channels(b, y, (r * r, c))


# --- normalization ------------------------------------------------------------------------

@register(aten.native_group_norm, aten.group_norm)
class GroupNorm(ChannelsLast):
    also_torch_layout = True

    def native(self, node):
        return node.target.overloadpacket is aten.native_group_norm

    def supported(self, node):
        if rank(node.args[0]) < 3:
            return False
        return not (self.native(node) and _used_outputs(node) - {0})

    def rewrite_cl(self, node, b, x):
        if self.native(node):
            _, weight, bias, _, _, _, groups, eps = node.args
        else:
            groups = node.args[1]
            weight, bias = arg(node, 2, "weight"), arg(node, 3, "bias")
            eps = arg(node, 4, "eps", 1e-5)
        y = b.call(nhwc_ops.group_norm_cl, (x, b.value(weight), b.value(bias), groups, eps))
        return [y, None, None] if self.native(node) else y


@register(aten.instance_norm)
class InstanceNorm(ChannelsLast):
    also_torch_layout = True

    def supported(self, node):
        return rank(node.args[0]) >= 3 and bool(arg(node, 5, "use_input_stats", True))

    def rewrite_cl(self, node, b, x):
        weight, bias = node.args[1], node.args[2]
        eps = arg(node, 7, "eps", 1e-5)
        channels = shape(node.args[0])[1]
        return b.call(nhwc_ops.group_norm_cl,
                      (x, b.value(weight), b.value(bias), channels, eps))


@register(aten._native_batch_norm_legit_no_training)
class BatchNorm(PermRule):
    """Inference batch norm is a per-channel scale and shift: it runs in any layout (the
    channel vector lines up with wherever dim 1 is held); TF's converter folds it into
    the convolution before it."""

    def identity_frame(self, node):
        return identity(rank(node.args[0]))

    def plan(self, node, frame):
        r = rank(node.args[0])
        if len(frame) != r:
            return None
        if _used_outputs(node) - {0}:  # its (empty) statistics are read: torch's layout only
            return super().plan(node, frame) if tuple(frame) == identity(r) else None
        needs = [(node.args[0], tuple(frame))]
        needs += [(n, identity(rank(n))) for n in tensor_inputs(node)[1:]]
        return Plan(needs, [tuple(frame), None, None])

    def rewrite(self, node, frame, plan, b):
        if _used_outputs(node) - {0}:
            return b.copy_with_inputs(node, plan)
        x, weight, bias, mean, var, _, eps = node.args
        r = rank(x)
        scale = b.call(aten.rsqrt.default, (b.call(aten.add.Tensor, (b.value(var), eps)),))
        if weight is not None:
            scale = b.call(aten.mul.Tensor, (scale, b.value(weight)))
        shift = b.call(aten.mul.Tensor, (b.value(mean), scale))
        shift = b.call(aten.neg.default, (shift,))
        if bias is not None:
            shift = b.call(aten.add.Tensor, (shift, b.value(bias)))
        folded = self.fold_into_conv(node, frame, b, scale, shift)
        if folded is not None:
            return [folded, None, None]
        j = frame.index(1)
        if j != r - 1:
            shape_ = [-1] + [1] * (r - 1 - j)
            scale = b.call(aten.view.default, (scale, shape_))
            shift = b.call(aten.view.default, (shift, shape_))
        y = b.call(aten.mul.Tensor, (b.input(x, tuple(frame)), scale))
        y = b.call(aten.add.Tensor, (y, shift))
        return [y, None, None]

    def fold_into_conv(self, node, frame, b, scale, shift):
        """conv → batch norm, the conv used by nothing else: scale the conv's weights and
        bias instead (TF's converter folds a BN after a conv only when it has no bias)."""
        source = node.args[0]
        if len(source.users) != 1 or frame != channels_last(rank(source)):
            return None
        conv = b.value_node(b.values.get(source))
        if conv is None or conv.target is not nhwc_ops.conv_cl or conv.args[6]:
            return None
        x, weight, bias = conv.args[:3]
        if not is_constant(source.args[1]) or (bias is not None and not is_constant(source.args[2])):
            return None
        w_rank = len(b.phys_shape(weight))
        w = b.call(aten.mul.Tensor, (weight, b.call(aten.view.default,
                                                    (scale, [-1] + [1] * (w_rank - 1)))))
        if bias is not None:
            shift = b.call(aten.add.Tensor, (b.call(aten.mul.Tensor, (bias, scale)), shift))
        b.graph.erase_node(conv)  # the batch norm was its only user; the folded conv takes over
        folded = b.call(nhwc_ops.conv_cl, (x, w, shift, *conv.args[3:]), meta_from=source)
        b.force_name(folded, source.name)
        return folded


@register(aten.native_layer_norm, aten.layer_norm)
class LayerNorm(PermRule):
    """Valid in any layout that holds the normalized dims last (in any order)."""

    def native(self, node):
        return node.target.overloadpacket is aten.native_layer_norm

    def identity_frame(self, node):
        return identity(rank(node.args[0]))

    def plan(self, node, frame):
        r = rank(node.args[0])
        k = len(node.args[1])
        if len(frame) != r or set(frame[r - k:]) != set(range(r - k, r)):
            return None
        if self.native(node) and _used_outputs(node) - {0} and frame != identity(r):
            return None
        needs = [(node.args[0], tuple(frame))]
        needs += [(n, identity(rank(n))) for n in tensor_inputs(node)[1:]]
        outs = [tuple(frame)]
        if self.native(node):
            outs += [identity(v.dim()) for v in val(node)[1:]]
        return Plan(needs, outs)

    def rewrite(self, node, frame, plan, b):
        r = rank(node.args[0])
        k = len(node.args[1])
        order = tuple(d - (r - k) for d in frame[r - k:])
        x = b.input(node.args[0], tuple(frame))
        normalized = [node.args[1][d] for d in order]
        weight, bias = arg(node, 2, "weight"), arg(node, 3, "bias")
        weight = b.input(weight, order) if is_tensor_node(weight) else weight
        bias = b.input(bias, order) if is_tensor_node(bias) else bias
        eps = arg(node, 4, "eps", 1e-5)
        if self.native(node):
            return b.call(aten.native_layer_norm.default, (x, normalized, weight, bias, eps),
                          tuple_outputs=3)
        return b.call(aten.layer_norm.default, (x, normalized, weight, bias, eps))
