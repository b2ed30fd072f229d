"""Find every independent failing region of a model's graph.

The whole graph is checked; if it fails, the failing region is shrunk to a minimal one
(first the nodes the failure names, if they fail the same way alone, else by delta
debugging over the graph's nodes), reported, cut out (its outputs become inputs of the
rest, with the values they had) and the rest is checked again, until it passes. So N
independent failing parts give N regions.

A check returns a `Failure` or None. Shrinking keeps a candidate only if it fails with
the same `key` as the region it came from, so the search cannot drift from one failure
to another (an unsupported op to a conversion error in a neighbouring op).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable, Hashable, Iterator, Sequence

import torch

from edgebatch._convert.export import export_module
from edgebatch.debug.minimize import minimize
from edgebatch.debug.subgraph import FlatGraph, Unit


@dataclass(frozen=True)
class Failure:
    """How a region failed."""

    key: Hashable  # two failures with the same key fail the same way
    error: BaseException | None = None
    named_nodes: frozenset[str] = field(default_factory=frozenset)  # nodes the error names


@dataclass
class SearchResult:
    """A region of the model's graph: a standalone module and the inputs it fails on."""

    graph_module: torch.fx.GraphModule
    inputs: tuple

    @property
    def graph(self) -> torch.fx.Graph:
        return self.graph_module.graph


Check = Callable[[torch.fx.GraphModule, tuple], "Failure | None"]


def search_regions(flat: FlatGraph, check: Check, *, max_chunk: int | None = None,
                   log: bool = False) -> Iterator[tuple[SearchResult, Failure]]:
    """Each minimal failing region of `flat` with its failure, until the rest passes."""
    checked: dict[tuple[int, ...], Failure | None] = {}
    index = {unit: i for i, unit in enumerate(flat.units)}

    def failure_of(units: Sequence[Unit]) -> Failure | None:
        key = tuple(index[u] for u in units)
        if key not in checked:
            region = flat.extract(units)
            checked[key] = None if region is None else check(*region)
            if log:
                print(f"find_culprits: {len(units)} of {len(flat.units)} ops: "
                      f"{'fails' if checked[key] else 'passes'}", file=sys.stderr)
        return checked[key]

    remaining = list(flat.units)
    while remaining and (failure := failure_of(remaining)) is not None:
        def fails_the_same_way(units: list[Unit]) -> bool:
            found = failure_of(units)
            return found is not None and found.key == failure.key

        named = [u for u in remaining if any(n.name in failure.named_nodes for n in u)]
        start = named if named and fails_the_same_way(named) else remaining
        region = minimize(start, fails_the_same_way, max_chunk=max_chunk)
        graph_module, inputs = flat.extract(region)
        yield SearchResult(graph_module, inputs), failure_of(region)
        cut = set(region)
        remaining = [u for u in remaining if u not in cut]


def search_model(predicate: Callable[[torch.fx.GraphModule, tuple], bool],
                 module: torch.nn.Module | torch.export.ExportedProgram, args=(),
                 kwargs: dict | None = None, *, max_granularity: int | None = None,
                 enable_fx_minifier_logging: bool = False) -> Iterator[SearchResult]:
    """Every minimal region of `module`'s exported graph for which `predicate(graph_module,
    inputs)` is true, cut out one after the other (ai_edge_torch's `_search_model`)."""
    flat = flat_graph(module, args, kwargs)

    def check(graph_module: torch.fx.GraphModule, inputs: tuple) -> Failure | None:
        return Failure(key=True) if predicate(graph_module, inputs) else None

    for result, _ in search_regions(flat, check, max_chunk=max_granularity,
                                    log=enable_fx_minifier_logging):
        yield result


def flat_graph(module: torch.nn.Module | torch.export.ExportedProgram, args,
               kwargs: dict | None = None) -> FlatGraph:
    """Export `module` (raises ExportError if torch.export cannot) and record its values."""
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    kwargs = dict(kwargs or {})
    program = module if isinstance(module, torch.export.ExportedProgram) else \
        export_module(module, args, kwargs)
    return FlatGraph(program, args, kwargs)


__all__ = ["Failure", "SearchResult", "flat_graph", "search_model", "search_regions"]
