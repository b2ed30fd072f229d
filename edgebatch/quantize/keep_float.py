"""Mixed precision for the `int8` preset: which ops stay float (`QuantConfig(keep_float=...)`).

`keep_float` entries, any mix of:

- a TFLite op type (`HARD_SWISH`, `CONV_2D`): every op of that type stays float;
- a module name (`features.0.0`, `classifier.3`): every op lowered from that submodule;
- `auto:K`: the K quantizable layers (convolutions and linears) whose quantization alone
  hurts the output most stay float.

Only the `int8` preset honours it: TF's post-training quantizer (`mlir_quantize`) takes
the ops to leave float (`denylisted_ops`, `denylisted_nodes`: an op's output tensor name
in the calibrated model) and puts QUANTIZE/DEQUANTIZE around them. PT2E static does not:
a layer left float in PyTorch comes out int8 anyway, because TF's converter quantizes a
float op sandwiched between quantize/dequantize pairs.

Module names reach the .tflite through the FX graph: torch.export records the module path
of every node (`nn_module_stack`), the lowering runs each node in a TF name scope named
after it, and TF names each TFLite tensor after the TF ops fused into it, joined by ';'.

`auto:K` ranks the layers in eager PyTorch (`layer_sensitivity`): each layer alone is
fake-quantized the way the int8 preset quantizes it (int8 weights per output channel,
int8 input over the calibration min/max) and scored by 1 - cosine of the model's output
against float over the calibration batches; one forward pass per layer and batch (about
0.1 s per layer on mobilenet_v3_small). On mobilenet_v3_small it agreed with a ranking
by converting one PT2E-quantized layer at a time (90× slower).
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import torch

from edgebatch.errors import InputError

_AUTO = re.compile(r"auto:(\d+)")
_OP_TYPE = re.compile(r"[A-Z][A-Z0-9_]*")
_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.\w+)*")
_QUANTIZABLE = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d, torch.nn.ConvTranspose1d,
                torch.nn.ConvTranspose2d, torch.nn.Linear)


class UnknownModuleError(InputError):
    """keep_float names a submodule the model does not have."""


@dataclass
class KeepFloat:
    op_types: list[str] = field(default_factory=list)
    module_names: list[str] = field(default_factory=list)
    auto: Optional[int] = None  # keep the `auto` most sensitive layers float


def parse_keep_float(spec: str | Sequence[str] | None) -> KeepFloat:
    """`spec` as written in a recipe or QuantConfig ("auto:2", "HARD_SWISH",
    ["features.0.0", "auto:1"]); ValueError naming the malformed entry."""
    if isinstance(spec, str):
        entries = [part for part in spec.split(",")] if spec.strip() else []
    else:
        entries = list(spec or [])
    keep = KeepFloat()
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise ValueError(f"keep_float: entries are op types, module names or auto:K, "
                             f"got {entry!r}")
        entry = entry.strip()
        if entry.startswith("auto"):
            match = _AUTO.fullmatch(entry)
            if match is None:
                raise ValueError(f"keep_float: {entry!r} is not auto:K with K a whole number "
                                 "(e.g. auto:2)")
            if keep.auto is not None:
                raise ValueError("keep_float: give auto:K once")
            keep.auto = int(match.group(1))
        elif _OP_TYPE.fullmatch(entry):
            if entry not in _builtin_ops():
                close = difflib.get_close_matches(entry, _builtin_ops(), n=3)
                raise ValueError(f"keep_float: {entry!r} is no TFLite op type"
                                 + (f" (did you mean {', '.join(close)}?)" if close else ""))
            keep.op_types.append(entry)
        elif _MODULE_NAME.fullmatch(entry):
            keep.module_names.append(entry)
        else:
            raise ValueError(f"keep_float: {entry!r} is neither a TFLite op type (HARD_SWISH), "
                             "a module name (features.0.0) nor auto:K")
    return keep


def _builtin_ops() -> list[str]:
    from edgebatch._imports import tensorflow

    tensorflow()
    from tensorflow.lite.python import schema_py_generated as schema

    return [k for k in vars(schema.BuiltinOperator) if not k.startswith("_")]


def quantizable_layers(module: torch.nn.Module) -> list[str]:
    """Names of the convolutions and linears, in definition order."""
    return [name for name, m in module.named_modules() if isinstance(m, _QUANTIZABLE) and name]


def check_module_names(module: torch.nn.Module, names: Sequence[str]) -> None:
    known = [name for name, _ in module.named_modules() if name]
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = (f"close matches: {', '.join(close)}" if close
                    else f"its layers are named like {', '.join(quantizable_layers(module)[:4])}")
            raise UnknownModuleError(f"keep_float: the model has no submodule {name!r} ({hint})")


def layer_sensitivity(module: torch.nn.Module, batches: Sequence) -> list[tuple[str, float]]:
    """(layer, 1 - cosine of the output against float with only that layer quantized),
    worst first. `batches`: sample-args tuples or (args, kwargs) pairs."""
    module = copy.deepcopy(module).eval()
    batches = [_args_kwargs(b) for b in batches]
    layers = quantizable_layers(module)
    with torch.no_grad():
        ranges = _input_ranges(module, layers, batches)
        reference = [_flat(module(*args, **kwargs)) for args, kwargs in batches]
        scores = []
        for name in layers:
            layer = module.get_submodule(name)
            weight = layer.weight.data
            layer.weight.data = _fake_quant_weight(weight, _output_axis(layer))
            lo, hi = ranges.get(name, (0.0, 0.0))
            handle = layer.register_forward_pre_hook(
                lambda _, args, lo=lo, hi=hi: (_fake_quant_activation(args[0], lo, hi), *args[1:]))
            outputs = [_flat(module(*args, **kwargs)) for args, kwargs in batches]
            handle.remove()
            layer.weight.data = weight
            scores.append((name, _error(reference, outputs)))
    return sorted(scores, key=lambda item: -item[1])


def resolve(module: torch.nn.Module, spec, batches: Iterable = ()) -> tuple[KeepFloat, list[tuple[str, float]]]:
    """`spec` parsed, its module names checked against `module`, `auto:K` turned into the
    K most sensitive layers (appended to module_names). Returns (what to keep, the auto
    layers with their error, most sensitive first)."""
    keep = parse_keep_float(spec)
    check_module_names(module, keep.module_names)
    chosen: list[tuple[str, float]] = []
    if keep.auto:
        batches = list(batches)
        if not batches:
            raise InputError("keep_float auto:K ranks layers on the calibration data: give "
                             "QuantConfig(calibration_data=[sample_args, ...])")
        chosen = layer_sensitivity(module, batches)[:keep.auto]
        keep.module_names += [name for name, _ in chosen if name not in keep.module_names]
    return keep, chosen


def module_scopes(node_modules: dict[str, list[str]], module_names: Sequence[str]) -> dict[str, str]:
    """FX node name -> the kept module it belongs to, for nodes called inside one."""
    wanted = set(module_names)
    found = {}
    for node, paths in node_modules.items():
        for path in paths:
            if path in wanted:
                found[node] = path
    return found


def denylisted_nodes(calibrated: bytes, node_names: dict[str, str],
                     output_nodes: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """{op output tensor name in `calibrated`: kept modules it computes}.

    `node_names`: FX node -> kept module (the TF name scope is the node's scope name);
    `output_nodes`: signature -> {output name: FX node}, for the tensors TF renames to
    the signature's outputs."""
    from edgebatch._convert.tf_graph import scope_name
    from edgebatch.quantize.flatbuffer import read

    scopes = {scope_name(node): module for node, module in node_names.items()}
    model = read(calibrated)
    renamed: dict[tuple[int, int], str] = {}
    for sig in model.signatureDefs or []:
        key = sig.signatureKey.decode() if isinstance(sig.signatureKey, bytes) else sig.signatureKey
        for tensor_map in sig.outputs or []:
            name = tensor_map.name.decode() if isinstance(tensor_map.name, bytes) else tensor_map.name
            node = output_nodes.get(key, {}).get(name)
            if node is not None:
                renamed[(sig.subgraphIndex, tensor_map.tensorIndex)] = scope_name(node)
    found: dict[str, set[str]] = {}
    for g, graph in enumerate(model.subgraphs):
        for op in graph.operators:
            for t in op.outputs:
                name = (graph.tensors[t].name or b"").decode()
                parts = [part.split("/")[0] for part in name.split(";")]
                if (g, t) in renamed:
                    parts.append(renamed[(g, t)])
                modules = {scopes[p] for p in parts if p in scopes}
                if modules:
                    found.setdefault(name, set()).update(modules)
    return found


def _args_kwargs(sample):
    if (isinstance(sample, tuple) and len(sample) == 2 and isinstance(sample[1], dict)
            and isinstance(sample[0], (tuple, list))):
        return tuple(sample[0]), sample[1]
    return (tuple(sample) if isinstance(sample, (tuple, list)) else (sample,)), {}


def _input_ranges(module, layers: Sequence[str], batches) -> dict[str, tuple[float, float]]:
    ranges: dict[str, tuple[float, float]] = {}

    def observe(name):
        def hook(_, args):
            x = args[0]
            lo, hi = ranges.get(name, (0.0, 0.0))  # the range always holds 0
            ranges[name] = (min(lo, float(x.min())), max(hi, float(x.max())))
        return hook

    handles = [module.get_submodule(n).register_forward_pre_hook(observe(n)) for n in layers]
    for args, kwargs in batches:
        module(*args, **kwargs)
    for handle in handles:
        handle.remove()
    return ranges


def _output_axis(layer: torch.nn.Module) -> int:
    return 1 if isinstance(layer, (torch.nn.ConvTranspose1d, torch.nn.ConvTranspose2d)) else 0


def _fake_quant_weight(weight: torch.Tensor, axis: int) -> torch.Tensor:
    moved = weight.transpose(0, axis)
    amax = moved.abs().reshape(moved.shape[0], -1).amax(dim=1).clamp(min=1e-12)
    scale = (amax / 127.0).reshape(-1, *[1] * (moved.dim() - 1))
    return (torch.clamp(torch.round(moved / scale), -127, 127) * scale).transpose(0, axis)


def _fake_quant_activation(x: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    scale = max(hi - lo, 1e-12) / 255.0
    zero_point = -128 - round(lo / scale)
    q = torch.clamp(torch.round(x / scale) + zero_point, -128, 127)
    return (q - zero_point) * scale


def _flat(value) -> torch.Tensor:
    if isinstance(value, (tuple, list)):
        return torch.cat([_flat(v) for v in value])
    if isinstance(value, dict):
        return torch.cat([_flat(v) for v in value.values()])
    return value.detach().double().reshape(-1)


def _error(reference: list, outputs: list) -> float:
    ref, out = torch.cat(reference), torch.cat(outputs)
    return float(1.0 - torch.nn.functional.cosine_similarity(ref, out, dim=0))
