"""The layout pass: decide once which tensors live channels-last, then rewrite the graph.

Steps (one module each): `analysis` (constants, which nodes decide), `rules/` (per-op:
frames an op can run in and how to rewrite it there), `partition` (pick one frame per
node with the fewest transposes), `rewrite` (build the physical graph), `nhwc_ops`
(the channels-last ops the rewrite emits).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from edgebatch._convert.passes.layout import nhwc_ops  # noqa: F401  registers edgebatch::*
from edgebatch._convert.passes.layout.analysis import analyze, clear_marks
from edgebatch._convert.passes.layout.partition import GreedyDescent, Partitioner
from edgebatch._convert.passes.layout.rewrite import rewrite
from edgebatch._convert.passes.layout import rules  # noqa: F401  registers the rules


@dataclass
class LayoutResult:
    changed: bool
    transposes: int  # activation transposes the rewrite inserted
    cost: float


def optimize_layout(program: torch.export.ExportedProgram,
                    partitioner: Partitioner | None = None) -> LayoutResult:
    """Rewrite `program`'s graph in place so channels-last ops see channels-last tensors."""
    facts = analyze(program)
    try:
        decision = (partitioner or GreedyDescent()).decide(facts)
        graph, transposes = rewrite(program, facts, decision)
    finally:
        clear_marks(program.graph_module.graph)
    install_graph(program, graph)
    return LayoutResult(True, transposes, decision.cost)


def install_graph(program: torch.export.ExportedProgram, graph: torch.fx.Graph) -> None:
    """Swap in a new graph, keeping the signature's output names in step."""
    program.graph_module.graph = graph
    program.graph_module.recompile()
    sync_output_names(program)


def sync_output_names(program: torch.export.ExportedProgram) -> None:
    output = next(n for n in reversed(program.graph_module.graph.nodes) if n.op == "output")
    for spec, value in zip(program.graph_signature.output_specs, output.args[0]):
        if isinstance(value, torch.fx.Node) and hasattr(spec.arg, "name"):
            spec.arg.name = value.name


__all__ = ["LayoutResult", "optimize_layout", "install_graph", "sync_output_names"]
