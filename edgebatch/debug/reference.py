"""PyTorch's value of every node of a converted program's graph: what the .tflite's
intermediates are compared with.

The graph is the one the lowering saw (after the passes; its channels-last ops run in
torch too), so each node means exactly what its TF tensor means. Values are real
numbers: a PT2E `quantize` node's integers are given dequantized. The float model a
PT2E model was quantized from is the same graph with its quantize/dequantize ops
passing their input through (a dequantize of a stored integer weight still dequantizes).
"""

from __future__ import annotations

import torch

_QUANTIZED_NAMESPACE = "quantized_decomposed"


def is_quantize(target) -> bool:
    return _qdq_name(target).startswith("quantize_per_")


def is_dequantize(target) -> bool:
    return _qdq_name(target).startswith("dequantize_per_")


def _qdq_name(target) -> str:
    if isinstance(target, torch._ops.OpOverload) and target.namespace == _QUANTIZED_NAMESPACE:
        return target._schema.name.split("::")[-1]
    return ""


def node_values(program: torch.export.ExportedProgram, args: tuple, kwargs: dict, *,
                float_model: bool = False) -> dict[torch.fx.Node, torch.Tensor]:
    """The real-valued tensor of every call_function node on the sample inputs."""
    runner = _FloatModel(program.graph_module) if float_model else \
        torch.fx.Interpreter(program.graph_module, garbage_collect_values=False)
    with torch.no_grad():
        runner.run(*program._graph_module_flat_inputs(args, kwargs))
    values = {}
    for node, value in runner.env.items():
        if node.op != "call_function" or not isinstance(value, torch.Tensor):
            continue
        if is_quantize(node.target) and not float_model:
            value = _dequantized(node, value, runner.env)
        values[node] = value
    return values


def _dequantized(node: torch.fx.Node, value: torch.Tensor, env: dict) -> torch.Tensor:
    """A quantize node's integers through the matching dequantize op (same parameters)."""
    overload = node.target
    name = overload._schema.name.split("::")[-1].replace("quantize", "dequantize", 1)
    dequantize = getattr(getattr(torch.ops.quantized_decomposed, name), overload._overloadname)
    params = torch.fx.node.map_arg(node.args[1:], env.__getitem__)
    return dequantize(value, *params)


class _FloatModel(torch.fx.Interpreter):
    def __init__(self, graph_module: torch.fx.GraphModule):
        super().__init__(graph_module, garbage_collect_values=False)

    def call_function(self, target, args, kwargs):
        passes_through = is_quantize(target) or (
            is_dequantize(target) and args[0].is_floating_point())
        return args[0] if passes_through else super().call_function(target, args, kwargs)
