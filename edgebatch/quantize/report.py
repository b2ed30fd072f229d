"""Quantization report: which ops ended up int8 / hybrid / float, and the error of the
quantized model, kept apart by cause (USERS.md: "did conversion or quantization change
the numbers?"):

- `float_vs_tflite`: float PyTorch vs the quantized .tflite (end to end);
- `float_vs_quantized`: float PyTorch vs quantized PyTorch (PT2E only: what quantization
  changed, before any conversion);
- `quantized_vs_tflite`: quantized PyTorch vs the .tflite (PT2E only: what conversion
  changed); `int32_bias_vs_tflite` the same with the biases rounded to TFLite's int32
  (TFLite cannot keep PT2E's float bias) - near zero when the lowering is faithful.

Errors are max abs, mean abs, cosine similarity and SNR in dB, over all outputs of all
given input batches.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

import numpy as np
import torch

from edgebatch._imports import tensorflow

tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

from edgebatch import metrics  # noqa: E402
from edgebatch.delegate_coverage import delegate_coverage  # noqa: E402
from edgebatch.flatbuffer_summary import TYPE_NAMES, is_constant, op_name, summarize  # noqa: E402

_INT_ACTIVATIONS = {"int8", "uint8", "int16"}
_FLOATS = {"float32", "float16"}

KINDS = ("int8", "hybrid", "float", "quantize", "dequantize", "weight_dequantize", "other")


# --- what the flatbuffer holds --------------------------------------------------------


@dataclass
class OpInfo:
    index: int
    op: str
    kind: str
    subgraph: int = 0
    activations: list[str] = field(default_factory=list)
    weights: list[str] = field(default_factory=list)


def classify_ops(flatbuffer: bytes) -> list[OpInfo]:
    """Every op of every subgraph with its kind:

    int8 — integer activations in and out (a real int8 kernel); hybrid — float
    activations with int8 constant weights (dynamic-range kernel); float — float
    activations and weights; quantize / dequantize — float↔int boundaries or requantize;
    weight_dequantize — DEQUANTIZE of a constant (fp16 / weight-only storage, done once
    at load); other — ops on non-float tensors only (shapes, indices).
    """
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    infos = []
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            name = op_name(model, op.OpcodeIndex())
            activations, weights = [], []
            for i in range(op.InputsLength()):
                t = op.Inputs(i)
                if t < 0:
                    continue
                tensor = graph.Tensors(t)
                dtype = TYPE_NAMES.get(tensor.Type(), "?")
                (weights if is_constant(model, tensor) else activations).append(dtype)
            outputs = [TYPE_NAMES.get(graph.Tensors(op.Outputs(i)).Type(), "?")
                       for i in range(op.OutputsLength())]
            infos.append(OpInfo(o, name, _kind(name, activations, weights, outputs), g,
                                activations, weights))
    return infos


def _kind(name: str, activations: list[str], weights: list[str], outputs: list[str]) -> str:
    if name == "QUANTIZE":
        return "quantize"
    if name == "DEQUANTIZE":
        return "dequantize" if activations else "weight_dequantize"
    acts = set(activations) | set(outputs)
    if acts & _INT_ACTIVATIONS and not acts & _FLOATS:
        return "int8"
    if acts & _FLOATS:
        return "hybrid" if "int8" in weights else "float"
    return "other"


def op_kinds(flatbuffer: bytes) -> dict[str, dict[str, int]]:
    """{op name: {kind: count}} over the whole model."""
    table: dict[str, Counter] = {}
    for info in classify_ops(flatbuffer):
        table.setdefault(info.op, Counter())[info.kind] += 1
    return {op: dict(kinds) for op, kinds in sorted(table.items())}


# --- error metrics -------------------------------------------------------------------


def error_metrics(reference: Iterable, actual: Iterable) -> dict[str, float]:
    """edgebatch.metrics.error_metrics over nested outputs (tensors, arrays, lists, dicts)."""
    return metrics.error_metrics(_leaves(reference), _leaves(actual))


def _leaves(value) -> list:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, torch.Tensor):
        return [value.detach().cpu().numpy()]
    if value is None:
        return []
    return [np.asarray(value)]


def run_tflite(model, args: tuple, kwargs: Optional[dict] = None,
               signature_name: str = "serving_default") -> list[np.ndarray]:
    """Run a converted model on float inputs; int8 inputs/outputs (int8 I/O models) are
    quantized / dequantized with the model's own parameters."""
    from edgebatch._convert.signature import input_names_and_values

    runner = model._runner(signature_name)
    inputs = runner.get_input_details()
    feeds = {}
    for name, value in input_names_and_values(args, kwargs or {}):
        detail = inputs[name]
        array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        scale, zero_point = detail.get("quantization", (0.0, 0))
        if np.issubdtype(detail["dtype"], np.integer) and scale and array.dtype.kind == "f":
            info = np.iinfo(detail["dtype"])
            array = np.clip(np.round(array / scale) + zero_point, info.min, info.max)
        feeds[name] = array.astype(detail["dtype"], copy=False)
    outputs = runner(**feeds)
    details = runner.get_output_details()
    result = []
    for name in _ordered(outputs):
        array = outputs[name]
        scale, zero_point = details[name].get("quantization", (0.0, 0))
        if np.issubdtype(array.dtype, np.integer) and scale:
            array = (array.astype(np.float32) - zero_point) * scale
        result.append(array)
    return result


def _ordered(outputs: dict) -> list[str]:
    def key(name: str):
        tail = name.rsplit("_", 1)[-1]
        return (0, int(tail)) if name.startswith("output_") and tail.isdigit() else (1, name)

    return sorted(outputs, key=key)


def _run_torch(module, args: tuple, kwargs: Optional[dict]) -> list[np.ndarray]:
    with torch.no_grad():
        out = module(*args, **(kwargs or {}))
    return [np.asarray(x) for x in _leaves(out)]


def with_int32_bias(quantized_module: torch.nn.Module) -> torch.nn.Module:
    """A copy of a PT2E-quantized module whose conv/linear biases are rounded the way
    TFLite stores them: int32 with scale = input scale × weight scale (per channel).

    PT2E keeps biases float; TFLite's int8 kernels cannot. Comparing the .tflite with this
    copy isolates what the conversion itself changed (the rest is the bias rounding,
    which deep, quantization-sensitive nets amplify)."""
    import copy

    from edgebatch._convert.lowerings.quantized import DEQUANTIZE_OPS

    module = copy.deepcopy(quantized_module)
    get = torch.fx.graph_module._get_attr
    aten = torch.ops.aten
    targets = {aten.conv1d.default, aten.conv2d.default, aten.linear.default,
               aten.convolution.default}
    for node in module.graph.nodes:
        if node.op != "call_function" or node.target not in targets or len(node.args) < 3:
            continue
        act, weight, bias = node.args[:3]
        if not all(isinstance(n, torch.fx.Node) for n in (act, weight, bias)):
            continue
        if bias.op != "get_attr" or act.target not in DEQUANTIZE_OPS:
            continue
        if weight.target not in DEQUANTIZE_OPS or isinstance(act.args[1], torch.fx.Node):
            continue  # dynamic activations: the hybrid kernel keeps a float bias
        w_scale = weight.args[1]
        w_scale = get(module, w_scale.target) if isinstance(w_scale, torch.fx.Node) else w_scale
        scale = torch.as_tensor(w_scale, dtype=torch.float64) * float(act.args[1])
        value = get(module, bias.target)
        value.data = (torch.round(value.double() / scale) * scale).to(value.dtype)
    return module


# --- the report ----------------------------------------------------------------------


@dataclass
class QuantizationReport:
    mode: str
    size_bytes: int
    float_size_bytes: Optional[int]
    op_kinds: dict[str, int]  # kind → count over all ops
    ops_by_kind: dict[str, dict[str, int]]  # op → {kind: count}
    weight_dtypes: dict[str, int]
    int8_weights: int
    ops_on_constants: list[str]
    float_vs_tflite: Optional[dict] = None
    float_vs_quantized: Optional[dict] = None
    quantized_vs_tflite: Optional[dict] = None
    int32_bias_vs_tflite: Optional[dict] = None  # quantized PyTorch with TFLite's int32 bias
    batches: int = 0
    delegate: Optional[dict] = None  # edgebatch.delegate_coverage: partitions, ops left out

    @property
    def size_ratio(self) -> Optional[float]:
        return self.size_bytes / self.float_size_bytes if self.float_size_bytes else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "size_bytes": self.size_bytes,
            "float_size_bytes": self.float_size_bytes,
            "size_ratio": self.size_ratio,
            "op_kinds": dict(self.op_kinds),
            "ops_by_kind": {k: dict(v) for k, v in self.ops_by_kind.items()},
            "weight_dtypes": dict(self.weight_dtypes),
            "int8_weights": self.int8_weights,
            "ops_on_constants": list(self.ops_on_constants),
            "float_vs_tflite": self.float_vs_tflite,
            "float_vs_quantized": self.float_vs_quantized,
            "quantized_vs_tflite": self.quantized_vs_tflite,
            "int32_bias_vs_tflite": self.int32_bias_vs_tflite,
            "batches": self.batches,
            "delegate": self.delegate,
        }

    def to_markdown(self) -> str:
        lines = [f"### Quantization: {self.mode}", ""]
        size = f"{self.size_bytes / 1e6:.2f} MB"
        if self.size_ratio is not None:
            size += f" ({self.size_ratio:.3f}× float)"
        lines += [f"- size: {size}",
                  f"- weights: {self.weight_dtypes} (int8 tensors: {self.int8_weights})",
                  f"- ops by kind: {self.op_kinds}"]
        if self.ops_on_constants:
            lines.append(f"- ops on constant weights: {', '.join(self.ops_on_constants)}")
        if self.delegate is not None:
            left = ", ".join(f"{n['count']} {n['op']} ({n['form']})"
                             for n in self.delegate["not_delegated"]) or "none"
            lines.append(f"- XNNPACK: {self.delegate['partitions']} partition(s); "
                         f"ops left to LiteRT's kernels: {left}")
        lines += ["", "| op | " + " | ".join(KINDS) + " |", "|---" * (len(KINDS) + 1) + "|"]
        for op, kinds in self.ops_by_kind.items():
            lines.append(f"| {op} | " + " | ".join(str(kinds.get(k, "")) for k in KINDS) + " |")
        rows = [("float PyTorch vs TFLite (end to end)", self.float_vs_tflite),
                ("float vs quantized PyTorch (quantization)", self.float_vs_quantized),
                ("quantized PyTorch vs TFLite (conversion)", self.quantized_vs_tflite),
                ("... with TFLite's int32 bias in PyTorch", self.int32_bias_vs_tflite)]
        lines += ["", f"| error over {self.batches} batches | max abs | mean abs | cosine | SNR dB |",
                  "|---|---|---|---|---|"]
        for label, m in rows:
            if m is not None:
                lines.append(f"| {label} | {m['max_abs']:.4g} | {m['mean_abs']:.4g} | "
                             f"{m['cosine']:.6f} | {m['snr_db']:.1f} |")
        return "\n".join(lines) + "\n"


def quantization_report(
    model,
    inputs: Iterable,
    *,
    float_module: Optional[torch.nn.Module] = None,
    quantized_module: Optional[torch.nn.Module] = None,
    float_size_bytes: Optional[int] = None,
    mode: str = "",
    signature_name: str = "serving_default",
) -> QuantizationReport:
    """Report on a converted (quantized) `model`.

    inputs: batches, each a positional-args tuple or an (args, kwargs) pair.
    float_module: the float PyTorch model (end-to-end and quantization error).
    quantized_module: the PT2E-quantized PyTorch model (conversion error).
    float_size_bytes: size of the float .tflite, for the size ratio.
    """
    flatbuffer = model.flatbuffer if hasattr(model, "flatbuffer") else bytes(model)
    summary = summarize(flatbuffer)
    infos = classify_ops(flatbuffer)
    ops_by_kind: dict[str, Counter] = {}
    for info in infos:
        ops_by_kind.setdefault(info.op, Counter())[info.kind] += 1
    tflite, floats, quants, biased = [], [], [], []
    int32_bias_module = with_int32_bias(quantized_module) if quantized_module is not None else None
    batches = 0
    runnable = hasattr(model, "_runner")
    for sample in inputs:
        args, kwargs = _split(sample)
        batches += 1
        if runnable:
            tflite.append(run_tflite(model, args, kwargs, signature_name))
        if float_module is not None:
            floats.append(_run_torch(float_module, args, kwargs))
        if quantized_module is not None:
            quants.append(_run_torch(quantized_module, args, kwargs))
            biased.append(_run_torch(int32_bias_module, args, kwargs))
    report = QuantizationReport(
        mode=mode,
        size_bytes=summary.size_bytes,
        float_size_bytes=float_size_bytes,
        op_kinds=dict(Counter(info.kind for info in infos)),
        ops_by_kind={op: dict(k) for op, k in sorted(ops_by_kind.items())},
        weight_dtypes=dict(summary.weight_dtypes),
        int8_weights=summary.int8_weights,
        ops_on_constants=list(summary.ops_on_constants),
        batches=batches,
        delegate=delegate_coverage(flatbuffer).as_dict(),
    )
    if tflite and floats:
        report.float_vs_tflite = error_metrics(floats, tflite)
    if floats and quants:
        report.float_vs_quantized = error_metrics(floats, quants)
    if quants and tflite:
        report.quantized_vs_tflite = error_metrics(quants, tflite)
        report.int32_bias_vs_tflite = error_metrics(biased, tflite)
    return report


def _split(sample) -> tuple[tuple, dict]:
    if (isinstance(sample, tuple) and len(sample) == 2 and isinstance(sample[1], dict)
            and isinstance(sample[0], (tuple, list))):
        return tuple(sample[0]), dict(sample[1])
    if isinstance(sample, (tuple, list)):
        return tuple(sample), {}
    return (sample,), {}
