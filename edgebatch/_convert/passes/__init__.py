"""FX passes over the exported program, run between torch.export and the lowering.

Each pass has a name, changes the program's graph in place and says whether it
changed anything. `run_passes` is the pipeline the converter calls.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PassResult:
    name: str
    changed: bool
    detail: dict


def run_passes(program: torch.export.ExportedProgram) -> list[PassResult]:
    from edgebatch._convert.passes import cleanup
    from edgebatch._convert.passes.canonicalize import canonicalize
    from edgebatch._convert.passes.channel_permutation import fold_channel_permutations
    from edgebatch._convert.passes.layout import optimize_layout

    results = [PassResult("canonicalize", canonicalize(program), {})]
    folded = fold_channel_permutations(program)
    results.append(PassResult("channel_permutation", bool(folded["folded_shuffles"]), folded))
    layout = optimize_layout(program)
    results.append(PassResult("layout", layout.changed,
                              {"transposes": layout.transposes, "cost": layout.cost}))
    results.append(PassResult("cleanup", cleanup.cleanup(program), {}))
    return results


__all__ = ["PassResult", "run_passes"]
