"""Running passes with contracts.

A pass has a name, an optional precondition and a `run(program) -> PassResult` that
edits the program's graph in place. `run_passes` runs a list of them in order; after
a pass that changed the graph it lints and recompiles the graph and renames the output
specs after the graph's output nodes. With `check` (on in tests, in production when
EDGEBATCH_CHECK_PASSES=1) it also checks the graph invariants before the first pass
and after every pass, so a pass that breaks the graph is named at once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from edgebatch._convert.passes.invariants import GraphInvariantError, check_graph

CHECK_ENV = "EDGEBATCH_CHECK_PASSES"


@dataclass(frozen=True)
class PassResult:
    changed: bool
    stats: dict[str, Any] = field(default_factory=dict)  # counts for the conversion report


@dataclass(frozen=True)
class GraphPass:
    name: str
    run: Callable[[torch.export.ExportedProgram], PassResult]
    # why the pass cannot run on this program (e.g. the graph is in the wrong form), or None
    precondition: Callable[[torch.export.ExportedProgram], str | None] | None = None


@dataclass(frozen=True)
class PassRecord:
    """One pass's result in the conversion report."""

    name: str
    changed: bool
    seconds: float
    stats: dict[str, Any]


class PassError(RuntimeError):
    """A pass broke its contract: an internal error of edgebatch, not of the model."""

    def __init__(self, pass_name: str, problem: str):
        self.pass_name = pass_name
        super().__init__(f"pass '{pass_name}' {problem}. This is a bug in edgebatch: please "
                         "report it with the model that triggered it.")


def checks_enabled() -> bool:
    return os.environ.get(CHECK_ENV) == "1"


def run_passes(program: torch.export.ExportedProgram, passes: Sequence[GraphPass], *,
               check: bool | None = None) -> list[PassRecord]:
    """Run `passes` in order on `program` (in place); their results, in order."""
    check = checks_enabled() if check is None else check
    if check:
        _check(program, "before any pass, the exported graph")
    records = []
    for graph_pass in passes:
        if graph_pass.precondition is not None:
            reason = graph_pass.precondition(program)
            if reason:
                raise PassError(graph_pass.name, f"cannot run: {reason}")
        start = time.perf_counter()
        result = graph_pass.run(program)
        if result.changed:
            program.graph_module.graph.lint()
            program.graph_module.recompile()
            sync_output_names(program)
        records.append(PassRecord(graph_pass.name, result.changed,
                                  time.perf_counter() - start, dict(result.stats)))
        if check:
            _check(program, f"after pass '{graph_pass.name}'", graph_pass.name)
    return records


def _check(program: torch.export.ExportedProgram, when: str, pass_name: str | None = None):
    try:
        check_graph(program)
    except GraphInvariantError as exc:
        if pass_name is None:
            raise GraphInvariantError(f"{when}: {exc}") from exc
        raise PassError(pass_name, f"left a broken graph: {exc}") from exc


def sync_output_names(program: torch.export.ExportedProgram) -> None:
    """Rename the signature's output specs after the nodes the graph now outputs."""
    output = next(n for n in reversed(program.graph_module.graph.nodes) if n.op == "output")
    for spec, value in zip(program.graph_signature.output_specs, output.args[0]):
        if isinstance(value, torch.fx.Node) and hasattr(spec.arg, "name"):
            spec.arg.name = value.name


__all__ = ["CHECK_ENV", "GraphPass", "PassError", "PassRecord", "PassResult", "checks_enabled",
           "run_passes", "sync_output_names"]
