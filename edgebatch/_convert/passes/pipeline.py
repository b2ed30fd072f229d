"""The passes the converter runs, in order.

1. real_spectra: carry FFTs' complex results as real (re, im) tensors
2. canonicalize: put back whole ops torch.export took apart (instance norm)
3. channel_permutation: fold channel shuffles into the weights around them
4. layout: decide once which tensors live channels-last; emit `edgebatch::*_cl` ops
5. cleanup: drop the identity reshapes/permutes and chains of them the others left
"""

from __future__ import annotations

import torch

from edgebatch._convert.passes.canonicalize import canonicalize
from edgebatch._convert.passes.channel_permutation import fold_channel_permutations
from edgebatch._convert.passes.cleanup import cleanup
from edgebatch._convert.passes.layout import optimize_layout
from edgebatch._convert.passes.manager import GraphPass, PassRecord, run_passes
from edgebatch._convert.passes.real_spectra import real_spectra


def in_torch_layout(program: torch.export.ExportedProgram) -> str | None:
    """Passes that reason about dim 1 as the channels need a graph the layout pass has not
    rewritten yet."""
    for node in program.graph_module.graph.nodes:
        target = node.target
        if isinstance(target, torch._ops.OpOverload) and target.namespace == "edgebatch":
            return f"node {node.name} is the channels-last op {target}: the layout pass already ran"
    return None


PIPELINE: tuple[GraphPass, ...] = (
    GraphPass("real_spectra", real_spectra),
    GraphPass("canonicalize", canonicalize),
    GraphPass("channel_permutation", fold_channel_permutations, precondition=in_torch_layout),
    GraphPass("layout", optimize_layout, precondition=in_torch_layout),
    GraphPass("cleanup", cleanup),
)


def run_pipeline(program: torch.export.ExportedProgram, *,
                 check: bool | None = None) -> list[PassRecord]:
    """Run PIPELINE on `program` in place (see `run_passes` for `check`)."""
    return run_passes(program, PIPELINE, check=check)


__all__ = ["PIPELINE", "in_torch_layout", "run_pipeline"]
