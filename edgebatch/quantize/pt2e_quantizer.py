"""A torchao PT2E quantizer whose annotations map onto TFLite's int8 kernels.

Usage (the same as with Google's ai_edge_torch):

    quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    m = torch.export.export(model, args).module()
    m = prepare_pt2e(m, quantizer); m(*args)  # calibrate
    m = convert_pt2e(m, fold_quantize=False)
    edgebatch.convert(m, args, quant_config=QuantConfig(pt2e_quantizer=quantizer))

The annotations follow TFLite's int8 spec: weights symmetric int8 in [-127, 127] (per
tensor or per output channel), activations int8 per-tensor affine, bias left float (the
converter quantizes it to int32 with scale = input scale × weight scale); pooling and
concatenation share their input's parameters (TFLite requires equal scales there);
logistic / softmax / hard-sigmoid / tanh / log-softmax outputs use TFLite's fixed
parameters. ReLU / ReLU6 (and batch norm during QAT) after conv / linear / add / mul are
fused: only the fused output is quantized, as TFLite fuses the activation into the kernel.

Dynamic configs (`is_dynamic=True`) annotate only the weighted ops (conv, linear, addmm,
mm) with at least 1024 weights: int8 weights, activations quantized at run time by
TFLite's hybrid kernels (smaller weights stay float, as in TFLite's dynamic range mode).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
from typing import Callable, Optional

import torch
from torch.fx import Node

from edgebatch._imports import ensure_torch_before_tensorflow

ensure_torch_before_tensorflow()

from torchao.quantization.pt2e import (  # noqa: E402
    FakeQuantize,
    FusedMovingAvgObsFakeQuantize,
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    PerChannelMinMaxObserver,
    PlaceholderObserver,
)
from torchao.quantization.pt2e.quantizer import (  # noqa: E402
    FixedQParamsQuantizationSpec,
    QuantizationAnnotation,
    QuantizationConfig,
    QuantizationSpec,
    Quantizer,
    SharedQuantizationSpec,
    get_module_name_filter,
)

__all__ = ["PT2EQuantizer", "QuantizationConfig", "get_symmetric_quantization_config"]

aten = torch.ops.aten
_KEY = "quantization_annotation"

# Dynamic configs leave weights under this many elements float, as TFLite's
# dynamic-range quantization does (so quantized PyTorch and the .tflite agree).
DYNAMIC_MIN_WEIGHT_ELEMENTS = 1024


@functools.lru_cache
def get_symmetric_quantization_config(
    is_per_channel: bool = False,
    is_qat: bool = False,
    is_dynamic: bool = False,
    act_qmin: int = -128,
    act_qmax: int = 127,
    weight_qmin: int = -127,
    weight_qmax: int = 127,
) -> QuantizationConfig:
    """TFLite's int8 scheme: symmetric int8 weights (per channel or per tensor), int8
    per-tensor affine activations (histogram observer; a placeholder for dynamic), float
    bias. `is_qat` swaps observers for fake quantizers that train with the model."""
    act_args: dict = {"eps": 2**-12}
    if is_qat:
        if is_dynamic:
            act_ctr = FakeQuantize
            act_args["observer"] = MovingAverageMinMaxObserver.with_args(averaging_constant=1)
        else:
            act_ctr = FusedMovingAvgObsFakeQuantize
    else:
        act_ctr = PlaceholderObserver if is_dynamic else HistogramObserver
    act = QuantizationSpec(
        dtype=torch.int8,
        quant_min=act_qmin,
        quant_max=act_qmax,
        qscheme=torch.per_tensor_affine,
        is_dynamic=is_dynamic,
        observer_or_fake_quant_ctr=act_ctr.with_args(**act_args),
    )
    weight_args: dict = {"eps": 2**-12}
    if is_qat:
        weight_ctr = FusedMovingAvgObsFakeQuantize
        weight_args["observer"] = (
            MovingAveragePerChannelMinMaxObserver if is_per_channel else MovingAverageMinMaxObserver
        )
    else:
        weight_ctr = PerChannelMinMaxObserver if is_per_channel else MinMaxObserver
    weight = QuantizationSpec(
        dtype=torch.int8,
        quant_min=weight_qmin,
        quant_max=weight_qmax,
        qscheme=torch.per_channel_symmetric if is_per_channel else torch.per_tensor_symmetric,
        ch_axis=0,
        is_dynamic=False,
        observer_or_fake_quant_ctr=weight_ctr.with_args(**weight_args),
    )
    return QuantizationConfig(
        input_activation=act,
        output_activation=None if is_dynamic else act,
        weight=weight,
        bias=None,
        is_qat=is_qat,
    )


# --- op sets (torch.export's training/eval IR, before decomposition) -------------------

_CONV = {
    aten.conv1d.default, aten.conv2d.default, aten.conv1d.padding, aten.conv2d.padding,
    aten.convolution.default,
}
_LINEAR = {aten.linear.default}
_MATMUL = {aten.addmm.default, aten.mm.default, aten.matmul.default}
_BATCH_NORM = {
    aten.batch_norm.default, aten._native_batch_norm_legit.default,
    aten._native_batch_norm_legit_no_training.default, aten.cudnn_batch_norm.default,
}
_BINARY = {
    aten.add.Tensor, aten.add_.Tensor, aten.mul.Tensor, aten.mul_.Tensor,
    aten.sub.Tensor, aten.sub_.Tensor,
}
_CAT = {aten.cat.default, aten.concat.default}
_POOL = {
    aten.max_pool2d.default, aten.max_pool2d_with_indices.default, aten.avg_pool2d.default,
    aten.adaptive_avg_pool2d.default, aten.max_pool1d.default, aten.avg_pool1d.default,
    aten.adaptive_avg_pool1d.default, aten.mean.dim,
}
# TFLite's fixed output parameters (int8): LOGISTIC, SOFTMAX, TANH, LOG_SOFTMAX.
_FIXED = {
    aten.sigmoid.default: (1 / 256, -128),
    aten.sigmoid_.default: (1 / 256, -128),
    aten.softmax.int: (1 / 256, -128),
    aten._softmax.default: (1 / 256, -128),
    aten.hardsigmoid.default: (1 / 256, -128),
    aten.hardsigmoid_.default: (1 / 256, -128),
    aten.tanh.default: (1 / 128, 0),
    aten.tanh_.default: (1 / 128, 0),
    aten.log_softmax.int: (16 / 256, 127),
    aten._log_softmax.default: (16 / 256, 127),
}
_UNARY = {aten.hardswish.default, aten.hardswish_.default, aten.relu.default, aten.relu_.default,
          aten.hardtanh.default, aten.hardtanh_.default, aten.leaky_relu.default,
          aten.gelu.default}
_RELU = {aten.relu.default, aten.relu_.default}
_HARDTANH = {aten.hardtanh.default, aten.hardtanh_.default, aten.clamp.default}
# Ops that move values without changing them: they share their input's parameters.
_SHARE_INPUT = {
    aten.view.default, aten.reshape.default, aten.flatten.using_ints, aten._unsafe_view.default,
    aten.permute.default, aten.transpose.int, aten.t.default, aten.squeeze.dim,
    aten.squeeze.dims, aten.squeeze.default, aten.unsqueeze.default, aten.slice.Tensor,
    aten.select.int, aten.contiguous.default, aten.clone.default, aten.expand.default,
    aten.pixel_shuffle.default, aten.pixel_unshuffle.default, aten.flip.default,
    aten.upsample_nearest2d.vec, aten.upsample_nearest2d.default, aten.dropout.default,
    aten.max_pool2d.default, aten.max_pool1d.default,
}


def _is_annotated(node: Node) -> bool:
    ann = node.meta.get(_KEY)
    return ann is not None and ann._annotated


def _annotate(node: Node, inputs: dict | None = None, output=None) -> None:
    ann = node.meta.get(_KEY) or QuantizationAnnotation()
    if inputs:
        ann.input_qspec_map.update(inputs)
    if output is not None:
        ann.output_qspec = output
    ann._annotated = True
    node.meta[_KEY] = ann


def _mark(nodes) -> None:
    for node in nodes:
        _annotate(node)


def _is_float_tensor(arg) -> bool:
    val = arg.meta.get("val") if isinstance(arg, Node) else None
    return isinstance(val, torch.Tensor) and val.dtype.is_floating_point


def _single_user(node: Node) -> Node | None:
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _is_relu_like(node: Node) -> bool:
    if node.target in _RELU:
        return True
    if node.target in _HARDTANH:  # relu6 / relu_n1_to_1 are fusable; other clamps are not
        lo = node.args[1] if len(node.args) > 1 else node.kwargs.get("min_val", -1.0)
        hi = node.args[2] if len(node.args) > 2 else node.kwargs.get("max_val", 1.0)
        return (lo, hi) in ((0, 6), (0.0, 6.0), (-1, 1), (-1.0, 1.0))
    return False


class PT2EQuantizer(Quantizer):
    """torchao `Quantizer` for edgebatch's TFLite lowering.

    Configs resolve per node: `set_module_name` (the innermost matching name wins) over
    `set_module_type` over `set_operator_type` over `set_global`. A config of None keeps
    the matching part in float.
    """

    def __init__(self) -> None:
        super().__init__()
        self.global_config: Optional[QuantizationConfig] = None
        self.operator_type_config: dict = {}
        self.module_type_config: dict = {}
        self.module_name_config: dict[str, Optional[QuantizationConfig]] = {}

    # --- configuration (chainable, like Google's and torchao's quantizers) --------------
    def set_global(self, quantization_config: Optional[QuantizationConfig]) -> "PT2EQuantizer":
        self.global_config = quantization_config
        return self

    def set_operator_type(self, operator_type, quantization_config) -> "PT2EQuantizer":
        """`operator_type`: an ATen op packet (torch.ops.aten.linear) or overload."""
        packet = getattr(operator_type, "overloadpacket", operator_type)
        self.operator_type_config[packet] = quantization_config
        return self

    def set_module_type(self, module_type: Callable, quantization_config) -> "PT2EQuantizer":
        self.module_type_config[module_type] = quantization_config
        return self

    def set_module_name(self, module_name: str, quantization_config) -> "PT2EQuantizer":
        self.module_name_config[module_name] = quantization_config
        return self

    @property
    def is_dynamic(self) -> bool:
        """True when the global config quantizes activations at run time."""
        return _config_is_dynamic(self.global_config)

    def configs(self) -> list[QuantizationConfig]:
        """Every non-None config this quantizer may apply."""
        all_configs = [self.global_config, *self.operator_type_config.values(),
                       *self.module_type_config.values(), *self.module_name_config.values()]
        return [c for c in all_configs if c is not None]

    # --- torchao Quantizer interface ----------------------------------------------------
    def transform_for_annotation(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        return model

    def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
        config_of = self._resolver()
        graph = model.graph
        for annotator in (_annotate_conv_like, _annotate_binary, _annotate_cat, _annotate_pool,
                          _annotate_fixed, _annotate_unary, _annotate_shared):
            for node in list(graph.nodes):
                if node.op == "call_function" and not _is_annotated(node):
                    annotator(node, config_of)
        return model

    def validate(self, model: torch.fx.GraphModule) -> None:
        pass

    def _resolver(self) -> Callable[[Node], Optional[QuantizationConfig]]:
        # innermost (longest) module names first
        names = sorted(self.module_name_config, key=lambda n: n.count(".") + len(n) / 1e4,
                       reverse=True)
        name_filters = [(get_module_name_filter(n), self.module_name_config[n]) for n in names]
        type_filters = [(_module_type_filter(t), c) for t, c in self.module_type_config.items()]

        def config_of(node: Node) -> Optional[QuantizationConfig]:
            for matches, config in name_filters:
                if matches(node):
                    return config
            for matches, config in type_filters:
                if matches(node):
                    return config
            target = node.target
            packet = getattr(target, "overloadpacket", None)
            for key in (target, packet):
                if key is not None and key in self.operator_type_config:
                    return self.operator_type_config[key]
            return self.global_config

        return config_of


def _config_is_dynamic(config: Optional[QuantizationConfig]) -> bool:
    act = getattr(config, "input_activation", None)
    return bool(act is not None and getattr(act, "is_dynamic", False))


def _module_type_filter(module_type) -> Callable[[Node], bool]:
    name = f"{module_type.__module__}.{module_type.__qualname__}"

    def matches(node: Node) -> bool:
        for _, t in node.meta.get("nn_module_stack", {}).values():
            t = f"{t.__module__}.{t.__qualname__}" if isinstance(t, type) else str(t)
            if t == name:
                return True
        return False

    return matches


# --- annotators -------------------------------------------------------------------------
# Each gets one unannotated call_function node and the per-node config resolver.


def _fused_output(node: Node, config, allow_bn: bool) -> tuple[Node, list[Node]]:
    """Follow conv/linear/add → [batch_norm (QAT)] → [relu/relu6] (single users, same
    config); return (output node to quantize, nodes fused into the pattern)."""
    out, fused = node, []
    nxt = _single_user(out)
    if allow_bn and nxt is not None and nxt.target in _BATCH_NORM and nxt.args[0] is out:
        out = nxt
        fused.append(out)
        nxt = _single_user(out)
        if nxt is not None and nxt.target is operator.getitem:
            out = nxt
            fused.append(out)
            nxt = _single_user(out)
    if nxt is not None and _is_relu_like(nxt) and not _is_annotated(nxt):
        out = nxt
        fused.append(out)
    return out, fused


def _weight_spec(config, axis: int):
    spec = config.weight
    if spec is None or spec.qscheme != torch.per_channel_symmetric or spec.ch_axis == axis:
        return spec
    return dataclasses.replace(spec, ch_axis=axis)


def _annotate_conv_like(node: Node, config_of) -> None:
    target = node.target
    if target in _CONV:
        if target == aten.convolution.default and node.args[6]:  # transposed
            return
        act, weight = node.args[0], node.args[1]
        bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        weight_axis = 0
    elif target in _LINEAR:
        act, weight = node.args[0], node.args[1]
        bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
        weight_axis = 0
    elif target in _MATMUL:
        if target == aten.addmm.default:
            bias, act, weight = node.args[0], node.args[1], node.args[2]
        else:
            bias, (act, weight) = None, node.args[:2]
        val = weight.meta.get("val") if isinstance(weight, Node) else None
        if (val is not None and val.dim() != 2) or not _is_weight(weight):
            return  # activation @ activation: no int8 weight to store
        weight_axis = 1  # mat2 is [in, out]
    else:
        return
    config = config_of(node)
    if config is None or not _is_float_tensor(act) or not isinstance(weight, Node):
        return
    inputs = {act: config.input_activation, weight: _weight_spec(config, weight_axis)}
    if isinstance(bias, Node) and config.bias is not None:
        inputs[bias] = config.bias
    if _config_is_dynamic(config):
        numel = _numel(weight)
        if numel is not None and numel < DYNAMIC_MIN_WEIGHT_ELEMENTS:
            return
        _annotate(node, inputs)
        return
    out, fused = _fused_output(node, config, allow_bn=target in _CONV)
    if out is node:
        _annotate(node, inputs, config.output_activation)
    else:
        _annotate(node, inputs)
        _mark(fused[:-1])
        _annotate(out, output=config.output_activation)


def _numel(node: Node) -> Optional[int]:
    val = node.meta.get("val")
    if isinstance(val, torch.Tensor):
        return val.numel()
    if node.op == "get_attr":
        try:
            return torch.fx.graph_module._get_attr(node.graph.owning_module, node.target).numel()
        except (AttributeError, TypeError):
            return None
    return None


def _is_weight(node: Node) -> bool:
    """A parameter / constant (possibly viewed, e.g. `weight.t()`), not an activation."""
    seen = 0
    while isinstance(node, Node) and seen < 4:
        if node.op == "get_attr":
            return True
        if node.op == "call_function" and node.target in (aten.t.default, aten.permute.default,
                                                           aten.transpose.int):
            node = node.args[0]
            seen += 1
            continue
        return False
    return False


def _static_config(node: Node, config_of):
    config = config_of(node)
    if config is None or _config_is_dynamic(config) or config.output_activation is None:
        return None
    return config


def _annotate_binary(node: Node, config_of) -> None:
    if node.target not in _BINARY:
        return
    config = _static_config(node, config_of)
    if config is None:
        return
    tensors = [a for a in node.args[:2] if _is_float_tensor(a)]
    if not tensors:
        return
    inputs = {a: config.input_activation for a in tensors}
    out, fused = _fused_output(node, config, allow_bn=False)
    if out is node:
        _annotate(node, inputs, config.output_activation)
    else:
        _annotate(node, inputs)
        _annotate(out, output=config.output_activation)


def _annotate_cat(node: Node, config_of) -> None:
    if node.target not in _CAT:
        return
    config = _static_config(node, config_of)
    if config is None:
        return
    tensors = [a for a in node.args[0] if _is_float_tensor(a)]
    if not tensors:
        return
    first = tensors[0]
    shared = SharedQuantizationSpec((first, node))
    inputs = {first: config.input_activation}
    inputs.update({a: shared for a in tensors[1:] if a is not first})
    _annotate(node, inputs, shared)


def _annotate_pool(node: Node, config_of) -> None:
    if node.target not in _POOL:
        return
    config = _static_config(node, config_of)
    if config is None or not _is_float_tensor(node.args[0]):
        return
    act = node.args[0]
    if node.target == aten.max_pool2d_with_indices.default:
        return  # the indices output cannot be quantized; the decomposed form is annotated
    _annotate(node, {act: config.input_activation}, SharedQuantizationSpec((act, node)))


def _annotate_fixed(node: Node, config_of) -> None:
    if node.target not in _FIXED:
        return
    config = _static_config(node, config_of)
    if config is None or not _is_float_tensor(node.args[0]):
        return
    scale, zero_point = _FIXED[node.target]
    act_spec = config.output_activation
    out = FixedQParamsQuantizationSpec(
        dtype=act_spec.dtype, scale=scale, zero_point=zero_point,
        quant_min=act_spec.quant_min, quant_max=act_spec.quant_max,
        qscheme=torch.per_tensor_affine,
    )
    _annotate(node, {node.args[0]: config.input_activation}, out)


def _annotate_unary(node: Node, config_of) -> None:
    """Standalone activations with int8 kernels (HARD_SWISH, RELU, RELU6, LEAKY_RELU, ...)."""
    if node.target not in _UNARY:
        return
    config = _static_config(node, config_of)
    if config is None or not _is_float_tensor(node.args[0]):
        return
    _annotate(node, {node.args[0]: config.input_activation}, config.output_activation)


def _annotate_shared(node: Node, config_of) -> None:
    """Shape / data-movement ops after a quantized value share its parameters."""
    if node.target not in _SHARE_INPUT:
        return
    src = node.args[0] if node.args else None
    if not isinstance(src, Node) or not _is_float_tensor(src):
        return
    ann = src.meta.get(_KEY)
    if ann is None or ann.output_qspec is None:
        return
    if _static_config(node, config_of) is None:
        return
    shared = SharedQuantizationSpec(src)
    _annotate(node, {src: shared}, shared)
