"""find_culprits: isolate each op of the exported graph and convert it alone.

Every distinct (op, input shapes, constant arguments) combination is rebuilt as a
one-op module with random inputs of the recorded shapes, converted through the
full pipeline and run with LiteRT. An op that has no lowering, fails to lower or
convert, fails at run time or disagrees with PyTorch is a culprit; each culprit
prints a standalone repro script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch

from edgebatch._convert.converter import convert
from edgebatch._convert.export import export_module
from edgebatch._convert.lowerings import lookup
from edgebatch._convert.lowerings.registry import op_name
from edgebatch._convert.source import user_source_line
from edgebatch.errors import EdgeBatchError, ExportError


@dataclass
class Culprit:
    kind: str  # export | unsupported | lowering | conversion | runtime | accuracy
    op: str
    node_name: str
    source: str | None
    message: str
    repro: str

    def print_code(self) -> None:
        print(self.repro)

    def __str__(self) -> str:
        where = f" at {self.source}" if self.source else ""
        return f"[{self.kind}] {self.op} (node {self.node_name}){where}: {self.message}"


class _OneOp(torch.nn.Module):
    def __init__(self, target, args_template, kwargs):
        super().__init__()
        self.target, self.args_template, self.kwargs = target, args_template, kwargs

    def forward(self, *tensors):
        it = iter(tensors)
        args = torch.fx.node.map_aggregate(
            self.args_template, lambda a: next(it) if isinstance(a, _TensorSlot) else a
        )
        return self.target(*args, **self.kwargs)


@dataclass(frozen=True)
class _TensorSlot:
    shape: tuple
    dtype: torch.dtype


def _slot(node_or_value):
    if isinstance(node_or_value, torch.fx.Node):
        val = node_or_value.meta.get("val")
        if isinstance(val, torch.Tensor):
            return _TensorSlot(tuple(int(d) for d in val.shape), val.dtype)
        return val
    return node_or_value


def _random_input(slot: _TensorSlot, generator: torch.Generator) -> torch.Tensor:
    if slot.dtype.is_floating_point:
        return torch.randn(slot.shape, generator=generator).to(slot.dtype)
    if slot.dtype == torch.bool:
        return torch.randint(0, 2, slot.shape, generator=generator).bool()
    return torch.randint(0, 4, slot.shape, generator=generator).to(slot.dtype)


def _repro(op: str, template, kwargs) -> str:
    slots = [a for a in torch.utils._pytree.tree_leaves(template) if isinstance(a, _TensorSlot)]
    names = iter(f"x{i}" for i in range(len(slots)))
    call_args = torch.fx.node.map_aggregate(
        template, lambda a: _Raw(next(names)) if isinstance(a, _TensorSlot) else a
    )
    inputs = ", ".join(f"torch.randn({list(s.shape)}).to({s.dtype})" for s in slots)
    params = ", ".join(f"x{i}" for i in range(len(slots)))
    arg_text = ", ".join(repr(a) for a in call_args)
    kwarg_text = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return (
        "import torch\nimport edgebatch\n\n\n"
        "class Culprit(torch.nn.Module):\n"
        f"    def forward(self, {params}):\n"
        f"        return torch.ops.{op}({arg_text}{kwarg_text})\n\n\n"
        f"args = ({inputs},)\n"
        "edgebatch.convert(Culprit().eval(), args)\n"
    )


class _Raw(str):
    def __repr__(self) -> str:
        return str(self)


def _flat_outputs(out) -> list[np.ndarray]:
    leaves = torch.utils._pytree.tree_leaves(out)
    return [np.asarray(leaf.detach().numpy() if isinstance(leaf, torch.Tensor) else leaf)
            for leaf in leaves if leaf is not None]


def find_culprits(module: torch.nn.Module, args, kwargs: dict | None = None, *,
                  atol: float = 1e-4, rtol: float = 1e-4, seed: int = 0) -> Iterator[Culprit]:
    """Yield the ops of `module` that fail to convert, fail at run time or disagree with PyTorch."""
    try:
        program = export_module(module, tuple(args), kwargs)
    except ExportError as exc:
        yield Culprit("export", type(module).__name__, "-", None, str(exc).splitlines()[0], "")
        return
    seen: set = set()
    generator = torch.Generator().manual_seed(seed)
    for node in program.graph.nodes:
        if node.op != "call_function" or not isinstance(node.target, torch._ops.OpOverload):
            continue
        template = torch.fx.node.map_aggregate(node.args, _slot)
        kwargs_const = {k: _slot(v) for k, v in node.kwargs.items()}
        key = (node.target, repr(template), repr(kwargs_const))
        if key in seen:
            continue
        seen.add(key)
        op = op_name(node.target)
        culprit = _check_one(node, op, template, kwargs_const, generator, atol, rtol)
        if culprit is not None:
            yield culprit


def _check_one(node, op, template, kwargs, generator, atol, rtol) -> Culprit | None:
    source = user_source_line(node)
    repro = _repro(op, template, kwargs)

    def culprit(kind: str, message: str) -> Culprit:
        return Culprit(kind, op, node.name, source, message, repro)

    if lookup(node.target) is None:
        return culprit("unsupported", "no lowering for this op")
    slots = [a for a in torch.utils._pytree.tree_leaves(template) if isinstance(a, _TensorSlot)]
    if not slots:
        return None
    inputs = tuple(_random_input(s, generator) for s in slots)
    one_op = _OneOp(node.target, template, kwargs).eval()
    try:
        with torch.no_grad():
            expected = _flat_outputs(one_op(*inputs))
    except Exception:  # the op itself rejects random inputs (e.g. index ranges)
        return None
    try:
        converted = convert(one_op, inputs)
    except EdgeBatchError as exc:
        kind = "lowering" if "lowering" in type(exc).__name__.lower() else "conversion"
        return culprit(kind, str(exc).splitlines()[0])
    try:
        actual = converted(*inputs)
    except Exception as exc:
        return culprit("runtime", f"{type(exc).__name__}: {exc}")
    actual = list(actual) if isinstance(actual, tuple) else [actual]
    for a, e in zip(actual, expected):
        if a.shape != e.shape or not np.allclose(a, e.astype(a.dtype), atol=atol, rtol=rtol):
            diff = np.abs(a.astype(np.float64) - e.astype(np.float64)).max() if a.shape == e.shape else "shape"
            return culprit("accuracy", f"output differs from PyTorch (max abs diff {diff})")
    return None
