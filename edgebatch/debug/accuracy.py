"""find_accuracy_culprits: the ops where a converted model's numbers leave PyTorch's.

The model is converted, and the .tflite is run with every intermediate tensor kept. Each
tensor is mapped back to the FX node whose value it holds (preserved.py) and compared
with PyTorch's value of that node (reference.py), after undoing what the passes did to
its layout (channels-last dims, folded channel permutations) so both read as the
PyTorch tensor. For a PT2E-quantized model the quantized PyTorch graph is also compared
with the float graph it came from, so each error has a cause:

- "quantization": PyTorch's quantized graph differs from its float version there;
- "conversion": the .tflite differs from the PyTorch graph it was converted from (with a
  converter-side quantization preset, that includes the preset's quantization).

An error is `max |actual - expected|`, measured against `atol + rtol * max |expected|`.
A node is a culprit where its error goes past that tolerance while its inputs' errors
were within theirs, or grows there by JUMP times or more: the first nodes where the error
jumps, not the ones it merely flows through. Nodes computed from weights alone are not
compared (their effect shows in the op that uses them), nor the transposes and reshapes
the layout pass added. A jump at a quantize op is reported at the op whose output it
quantizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.export.graph_signature import InputKind, OutputKind

from edgebatch._convert.converter import convert
from edgebatch._convert.export import export_module
from edgebatch._convert.lowerings.registry import op_name
from edgebatch._convert.passes.channel_permutation import CHANNEL_ORDER_META
from edgebatch._convert.passes.layout.rewrite import LAYOUT_META, PHYSICAL_LAYOUT_META
from edgebatch._convert.passes.pipeline import run_pipeline
from edgebatch._convert.signature import DEFAULT_SIGNATURE_NAME, output_names
from edgebatch._convert.source import user_source_line
from edgebatch.debug.preserved import preserved_node_values
from edgebatch.debug.reference import is_dequantize, is_quantize, node_values

JUMP = 10.0
CAUSES = ("quantization", "conversion")


@dataclass(frozen=True)
class Deviation:
    max_abs: float  # max |actual - expected|
    tolerance: float  # atol + rtol * max |expected|

    @property
    def ratio(self) -> float:
        return self.max_abs / self.tolerance

    @property
    def exceeds(self) -> bool:
        return self.max_abs > self.tolerance


@dataclass(frozen=True)
class NodeComparison:
    """One op of the graph: its error against its reference, per cause."""

    node: str
    op: str
    source: str | None
    shape: tuple  # in PyTorch's layout
    quantization: Deviation | None  # quantized vs float PyTorch (PT2E models only)
    conversion: Deviation | None  # .tflite vs PyTorch (None: the .tflite keeps no such tensor)


@dataclass(frozen=True, repr=False)
class AccuracyCulprit:
    """An op where the error jumps."""

    node: str
    op: str
    source: str | None
    cause: str  # "quantization" | "conversion"
    error_before: float  # the largest error of its inputs
    error_after: float  # its own error
    tolerance: float
    expected: np.ndarray  # PyTorch's value (the float model's, for "quantization")
    actual: np.ndarray  # the .tflite's (the quantized PyTorch graph's, for "quantization")
    quantized_by: str | None = None  # the quantize node where the jump is, if any

    def __str__(self) -> str:
        where = f" at {self.source}" if self.source else ""
        via = f", in its output quantization ({self.quantized_by})" if self.quantized_by else ""
        return (f"[{self.cause}] {self.op} (node {self.node}){where}: max abs error "
                f"{self.error_before:.3g} -> {self.error_after:.3g}{via} "
                f"(tolerance {self.tolerance:.3g})")

    __repr__ = __str__


class IntermediateComparison:
    """Every compared op of a converted model, and the culprits among them."""

    def __init__(self, graph: torch.fx.Graph, torch_ops: dict[str, object],
                 values: dict[str, dict[torch.fx.Node, np.ndarray]], atol: float, rtol: float):
        # values: "torch", "tflite" and, for PT2E models, "float" → node → PyTorch-layout array
        self._graph, self._values = graph, values
        self._torch_ops = torch_ops
        compared = [n for n in values["torch"] if LAYOUT_META not in n.meta]
        self._deviations: dict[str, dict[torch.fx.Node, Deviation]] = {
            cause: {} for cause in CAUSES}
        for node in compared:
            for cause, (actual, expected) in self._pairs(node).items():
                if actual is not None and actual.shape == expected.shape:
                    self._deviations[cause][node] = _deviation(actual, expected, atol, rtol)
        self.nodes = [NodeComparison(
            n.name, self._op(n), user_source_line(n), tuple(values["torch"][n].shape),
            self._deviations["quantization"].get(n), self._deviations["conversion"].get(n))
            for n in compared]

    def culprits(self) -> list[AccuracyCulprit]:
        """The ops where the error jumps, in graph order."""
        order = {node: i for i, node in enumerate(self._graph.nodes)}
        found = []
        for cause, deviations in self._deviations.items():
            nearest = _nearest_compared(self._graph, deviations)
            for node, deviation in deviations.items():
                inputs = [deviations[a] for a in nearest[node]]
                before = max((d.ratio for d in inputs), default=0.0)
                if deviation.exceeds and (before <= 1 or deviation.ratio >= JUMP * before):
                    found.append((order[node], self._culprit(
                        node, cause, deviation, max((d.max_abs for d in inputs), default=0.0))))
        return [culprit for _, culprit in sorted(found, key=lambda item: item[0])]

    def _pairs(self, node) -> dict[str, tuple[np.ndarray | None, np.ndarray]]:
        """cause → (actual, expected) arrays of `node`."""
        pairs = {"conversion": (self._values["tflite"].get(node), self._values["torch"][node])}
        if "float" in self._values:
            pairs["quantization"] = (self._values["torch"][node], self._values["float"][node])
        return pairs

    def _op(self, node: torch.fx.Node) -> str:
        return op_name(self._torch_ops.get(node.name, node.target))

    def _culprit(self, node, cause: str, deviation: Deviation, before: float) -> AccuracyCulprit:
        layer = node
        while (is_quantize(layer.target) or is_dequantize(layer.target)) and \
                isinstance(layer.args[0], torch.fx.Node) and layer.args[0].op == "call_function":
            layer = layer.args[0]
        actual, expected = self._pairs(node)[cause]
        return AccuracyCulprit(
            layer.name, self._op(layer), user_source_line(layer) or user_source_line(node), cause,
            before, deviation.max_abs, deviation.tolerance, expected, actual,
            quantized_by=node.name if layer is not node else None)


def find_accuracy_culprits(module: torch.nn.Module, args, kwargs: dict | None = None, *,
                           quant_config=None, atol: float = 1e-4,
                           rtol: float = 1e-4) -> list[AccuracyCulprit]:
    """The ops of `module` where the converted model's error jumps (see the module doc)."""
    return compare_intermediates(module, args, kwargs, quant_config=quant_config,
                                 atol=atol, rtol=rtol).culprits()


def compare_intermediates(module: torch.nn.Module, args, kwargs: dict | None = None, *,
                          quant_config=None, atol: float = 1e-4,
                          rtol: float = 1e-4) -> IntermediateComparison:
    """Convert `module` (with `quant_config`) and compare every intermediate with PyTorch."""
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    kwargs = dict(kwargs or {})
    model = convert(module, args, kwargs, quant_config=quant_config)
    program = export_module(module, args, kwargs)  # the converter's graph, for PyTorch to run
    torch_ops = {n.name: n.target for n in program.graph.nodes}
    run_pipeline(program)
    graph = program.graph_module.graph
    constant = _weight_only_nodes(program)
    physical = {n: v for n, v in node_values(program, args, kwargs).items() if n not in constant}
    preserved = preserved_node_values(
        model.flatbuffer, DEFAULT_SIGNATURE_NAME, args, kwargs,
        model.report["node_to_tf_name"][DEFAULT_SIGNATURE_NAME],
        {n.name: tuple(v.shape) for n, v in physical.items()},
        _output_nodes(program))
    by_name = {n.name: n for n in physical}
    tflite = {}
    for name, tensor in preserved.items():
        node = by_name[name]
        if tensor.quantized and not (is_quantize(node.target) or is_dequantize(node.target)):
            # an int8 tensor holds the op's output as quantized by the quantize op after it
            node = next((u for u in node.users if is_quantize(u.target)), node)
        tflite[node] = tensor.value
    values = {"torch": physical, "tflite": tflite}
    if any(is_quantize(n.target) for n in graph.nodes):
        float_values = node_values(program, args, kwargs, float_model=True)
        values["float"] = {n: float_values[n] for n in physical}
    in_torch_layout = {kind: {n: _torch_layout(v, n) for n, v in by_node.items()}
                       for kind, by_node in values.items()}
    return IntermediateComparison(graph, torch_ops, in_torch_layout, atol, rtol)


def _output_nodes(program: torch.export.ExportedProgram) -> dict[str, str]:
    """Signature output name → the node the graph returns there."""
    output = next(n for n in reversed(program.graph.nodes) if n.op == "output")
    returned = [value for value, spec in zip(output.args[0], program.graph_signature.output_specs)
                if spec.kind == OutputKind.USER_OUTPUT and value is not None]
    return {name: value.name for name, value in zip(output_names(program), returned)
            if isinstance(value, torch.fx.Node)}


def _weight_only_nodes(program: torch.export.ExportedProgram) -> set[torch.fx.Node]:
    """Nodes whose value depends on no user input (weight preparation, constants)."""
    user_inputs = {s.arg.name for s in program.graph_signature.input_specs
                   if s.kind == InputKind.USER_INPUT}
    found: set[torch.fx.Node] = set()
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name not in user_inputs:
            found.add(node)
        elif node.op == "call_function" and all(a in found for a in node.all_input_nodes):
            found.add(node)
    return found


def _torch_layout(value, node: torch.fx.Node) -> np.ndarray:
    """`node`'s value as PyTorch lays it out: undo the layout pass's permutation, then the
    channel order a folded channel shuffle left."""
    array = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    perm = node.meta.get(PHYSICAL_LAYOUT_META)
    if perm is not None:
        array = np.transpose(array, np.argsort(perm))
    order = node.meta.get(CHANNEL_ORDER_META)
    if order is not None:
        array = np.take(array, np.argsort(order), axis=1)
    return array


def _deviation(actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float) -> Deviation:
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    same = (a == e) | (np.isnan(a) & np.isnan(e))
    difference = np.nan_to_num(np.where(same, 0.0, np.abs(a - e)), nan=np.inf)
    scale = np.max(np.abs(e[np.isfinite(e)]), initial=0.0)
    return Deviation(float(difference.max(initial=0.0)), atol + rtol * float(scale))


def _nearest_compared(graph: torch.fx.Graph,
                      compared: dict[torch.fx.Node, Deviation]) -> dict[torch.fx.Node, set]:
    """For each node, the compared nodes it reads, looking through the ones not compared."""
    nearest: dict[torch.fx.Node, set] = {}
    for node in graph.nodes:  # graph order is topological
        nearest[node] = set()
        for source in node.all_input_nodes:
            nearest[node] |= {source} if source in compared else nearest[source]
    return nearest


__all__ = ["AccuracyCulprit", "Deviation", "IntermediateComparison", "NodeComparison",
           "compare_intermediates", "find_accuracy_culprits"]
