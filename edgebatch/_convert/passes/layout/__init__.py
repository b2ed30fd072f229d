"""The layout pass: decide once which tensors live channels-last, then rewrite the graph.

Steps (one module each): `analysis` (constants, which nodes decide), `rules/` (per-op:
frames an op can run in and how to rewrite it there), `partition` (pick one frame per
node with the fewest transposes), `rewrite` (build the physical graph). The
channels-last ops the rewrite emits are defined in `ir/nhwc_ops.py`.
"""

from __future__ import annotations

import torch

from edgebatch._convert.passes.layout import rules  # noqa: F401  registers the rules
from edgebatch._convert.passes.layout.analysis import analyze, clear_marks
from edgebatch._convert.passes.layout.partition import GreedyDescent, Partitioner
from edgebatch._convert.passes.layout.rewrite import rewrite
from edgebatch._convert.passes.manager import PassResult


def optimize_layout(program: torch.export.ExportedProgram,
                    partitioner: Partitioner | None = None) -> PassResult:
    """Rewrite `program`'s graph in place so channels-last ops see channels-last tensors."""
    facts = analyze(program)
    try:
        decision = (partitioner or GreedyDescent()).decide(facts)
        graph, transposes = rewrite(program, facts, decision)
    finally:
        clear_marks(program.graph_module.graph)
    program.graph_module.graph = graph
    # transposes: activation transposes the rewrite inserted
    return PassResult(True, {"transposes": transposes, "cost": decision.cost})


__all__ = ["optimize_layout"]
