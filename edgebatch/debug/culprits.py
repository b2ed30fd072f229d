"""find_culprits: the smallest parts of a model that fail to convert, each on its own.

The model's exported graph is searched (see search.py) with one check: convert the
region with `edgebatch.convert`; with `runtime_errors`, also run it with LiteRT; with
`accuracy`, also compare its outputs with PyTorch's. Every independent failing part of
the model comes out as one `Culprit`: a small graph, the inputs it fails on, the error,
and a standalone program that fails the same way.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from edgebatch._convert.converter import convert
from edgebatch._convert.lowerings.registry import op_name
from edgebatch._convert.source import user_source_line
from edgebatch.debug import repro
from edgebatch.debug.search import Failure, SearchResult, flat_graph, search_regions
from edgebatch.debug.subgraph import CLASS_NAME
from edgebatch.errors import (
    ConversionError, ExportError, InferenceError, LoweringError, ModelLoadError,
    UnsupportedOpError, ValidationError,
)

_KINDS = (  # most specific first: ModelTooLargeError is a ConversionError
    (UnsupportedOpError, "unsupported"),
    (LoweringError, "lowering"),
    (ConversionError, "conversion"),
    (InferenceError, "runtime"),
    (ModelLoadError, "runtime"),  # LiteRT could not prepare the converted model
    (ValidationError, "accuracy"),
    (ExportError, "export"),
)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(repr=False)
class Culprit(SearchResult):
    """A minimal failing part of the model: `graph_module` fails on `inputs` with `error`."""

    error: BaseException
    runtime_errors: bool = False  # print_code's program also runs the converted model
    tolerance: tuple[float, float] | None = None  # ... and compares it with PyTorch

    @property
    def kind(self) -> str:
        """unsupported | lowering | conversion | runtime | accuracy | export | other"""
        return next((kind for cls, kind in _KINDS if isinstance(self.error, cls)), "other")

    @property
    def op(self) -> str | None:
        """The op the error names (an unsupported op), if it names one."""
        return getattr(self.error, "op", None)

    @property
    def stack_traces(self) -> list[str]:
        """The PyTorch stack traces of the graph's ops, each once."""
        traces = (n.meta.get("stack_trace") for n in self.graph.nodes if n.op == "call_function")
        return list(dict.fromkeys(t for t in traces if t))

    @property
    def source(self) -> str | None:
        """`file:line (code)` in the user's model of the failing op (or the region's first)."""
        nodes = [n for n in self.graph.nodes if n.op == "call_function"]
        named = [n for n in nodes if n.name == getattr(self.error, "node_name", None)]
        return next((line for n in named + nodes if (line := user_source_line(n))), None)

    def print_readable(self, print_output: bool = True) -> str | None:
        """The region as a module class plus its inputs `_args`; printed, or returned
        when `print_output` is False."""
        text = (repro.module_source(self.graph_module, CLASS_NAME) + "\n\n\n"
                + repro.inputs_source(self.inputs) + "\n")
        return _emit(text, print_output)

    def print_code(self, print_output: bool = True) -> str | None:
        """A standalone program that fails as this culprit does; printed, or returned when
        `print_output` is False."""
        lines = [f"_edge_model = edgebatch.convert({CLASS_NAME}().eval(), _args)"]
        if self.runtime_errors or self.tolerance:
            lines.append("_outputs = _edge_model(*_args)")
        if self.tolerance:
            atol, rtol = self.tolerance
            lines += [
                "_outputs = _outputs if isinstance(_outputs, tuple) else (_outputs,)",
                f"for _got, _want in zip(_outputs, {CLASS_NAME}().eval()(*_args)):",
                "    numpy.testing.assert_allclose(_got, _want.detach().numpy(), "
                f"atol={atol!r}, rtol={rtol!r})",
            ]
        header = repro.header("numpy") if self.tolerance else repro.header()
        text = header + "\n\n" + self.print_readable(print_output=False) + "\n" \
            + "\n".join(lines) + "\n"
        return _emit(text, print_output)

    @property
    def code(self) -> str:
        return self.print_code(print_output=False)

    def __str__(self) -> str:
        ops = sorted({op_name(n.target) for n in self.graph.nodes if n.op == "call_function"})
        where = f" at {self.source}" if self.source else ""
        message = str(self.error).strip().splitlines()[0] if str(self.error).strip() else ""
        return f"[{self.kind}] {', '.join(ops)}{where}: {type(self.error).__name__}: {message}"

    __repr__ = __str__


def _emit(text: str, print_output: bool) -> str | None:
    if print_output:
        print(text)
        return None
    return text


def find_culprits(module: torch.nn.Module, args, max_granularity: int | None = None,
                  runtime_errors: bool = False, *, kwargs: dict | None = None,
                  accuracy: bool = False, atol: float = 1e-4, rtol: float = 1e-4,
                  enable_fx_minifier_logging: bool = False) -> Iterator[Culprit]:
    """Yield every independent minimal part of `module` that fails to convert.

    runtime_errors: also run each converted part with LiteRT; a failure there counts.
    accuracy: also compare each converted part's outputs with PyTorch's (`atol`, `rtol`).
    max_granularity: the largest number of ops the search drops from a region at once.
    enable_fx_minifier_logging: print every region tried and whether it failed.
    Raises ExportError if torch.export cannot capture the model.
    """
    tolerance = (atol, rtol) if accuracy else None
    flat = flat_graph(module, args, kwargs)
    check = _conversion_check(runtime_errors, tolerance)
    for region, failure in search_regions(flat, check, max_chunk=max_granularity,
                                          log=enable_fx_minifier_logging):
        yield Culprit(region.graph_module, region.inputs, failure.error,
                      runtime_errors=runtime_errors, tolerance=tolerance)


def _conversion_check(runtime_errors: bool, tolerance: tuple[float, float] | None):
    def check(graph_module: torch.fx.GraphModule, inputs: tuple) -> Failure | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = convert(graph_module.eval(), inputs)
                if runtime_errors or tolerance:
                    outputs = model(*inputs)
                if tolerance:
                    _compare(graph_module, inputs, outputs, *tolerance)
        except Exception as exc:  # any failure of the region counts, as in ai_edge_torch
            names = {n.name for n in graph_module.graph.nodes}
            named = {getattr(exc, "node_name", None)} | set(_WORD.findall(str(exc)))
            return Failure(key=(type(exc).__name__, getattr(exc, "op", None)), error=exc,
                           named_nodes=frozenset(named & names))
        return None

    return check


def _compare(graph_module: torch.fx.GraphModule, inputs: tuple, outputs, atol: float,
             rtol: float) -> None:
    with torch.no_grad():
        expected = graph_module(*inputs)
    got = outputs if isinstance(outputs, tuple) else (outputs,)
    for i, (actual, wanted) in enumerate(zip(got, expected)):
        wanted = wanted.detach().numpy()
        if actual.shape != wanted.shape or not np.allclose(actual, wanted, atol=atol, rtol=rtol):
            worst = np.abs(actual.astype(np.float64) - wanted).max() \
                if actual.shape == wanted.shape else "shape"
            raise ValidationError(f"output {i} differs from PyTorch (max abs diff {worst}, "
                                  f"atol={atol}, rtol={rtol})")


__all__ = ["Culprit", "find_culprits"]
