"""Cheap checks that a pass left a sound graph (used by tests after every pass).

- the FX graph lints (no use before definition, one output node)
- every call_function node has a `meta["val"]`, and re-running the op on its inputs'
  values (FakeTensorMode) gives the same shapes and dtypes
- no dead call_function nodes (pure nodes without users)
- no identity permutes or reshapes to the input's own static shape
- placeholders match the graph signature's input specs, in number and order
"""

from __future__ import annotations

import operator

import torch
from torch._guards import detect_fake_mode

aten = torch.ops.aten


class GraphInvariantError(AssertionError):
    pass


def _shapes(value):
    if isinstance(value, torch.Tensor):
        return [(tuple(value.shape), value.dtype)]
    if isinstance(value, (tuple, list)):
        return [s for v in value for s in _shapes(v)]
    return []


def _same_shape(a, b) -> bool:
    if len(a) != len(b):
        return False
    for (sa, da), (sb, db) in zip(a, b):
        if da != db or len(sa) != len(sb):
            return False
        for x, y in zip(sa, sb):
            if isinstance(x, int) and isinstance(y, int) and x != y:
                return False
            if isinstance(x, int) != isinstance(y, int):
                return False
    return True


def check_graph(program: torch.export.ExportedProgram, *, recompute: bool = True) -> None:
    """Raise GraphInvariantError naming the first broken node."""
    graph = program.graph_module.graph
    try:
        graph.lint()
    except Exception as exc:  # lint raises RuntimeError with the node named
        raise GraphInvariantError(f"graph lint failed: {exc}") from exc
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    specs = program.graph_signature.input_specs
    if len(placeholders) != len(specs):
        raise GraphInvariantError(f"{len(placeholders)} placeholders for {len(specs)} input specs")
    for node, spec in zip(placeholders, specs):
        if getattr(spec.arg, "name", node.name) != node.name:
            raise GraphInvariantError(f"placeholder {node.name} != input spec {spec.arg.name}")
    vals = [n.meta.get("val") for n in placeholders]
    fake_mode = detect_fake_mode(vals)
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        if "val" not in node.meta:
            raise GraphInvariantError(f"node {node.name} ({node.target}) has no meta['val']")
        if not node.users and not node.is_impure():
            raise GraphInvariantError(f"node {node.name} ({node.target}) is dead")
        if node.target is aten.permute.default and list(node.args[1]) == sorted(node.args[1]):
            raise GraphInvariantError(f"node {node.name} is an identity permute")
        if node.target is aten.view.default:
            src = node.args[0].meta.get("val")
            out = node.meta["val"]
            if all(isinstance(s, int) for s in out.shape) and tuple(src.shape) == tuple(out.shape):
                raise GraphInvariantError(f"node {node.name} reshapes to its input's shape")
        if recompute and fake_mode is not None:
            _check_val(node, fake_mode)


def _check_val(node: torch.fx.Node, fake_mode) -> None:
    args, kwargs = torch.fx.node.map_arg((node.args, node.kwargs), lambda n: n.meta.get("val"))
    target = node.target
    try:
        if target is operator.getitem:
            value = args[0][args[1]]
        else:
            if target is aten.view.default:
                target = aten.reshape.default  # physical tensors may be non-contiguous for torch
            with fake_mode:
                value = target(*args, **kwargs)
    except Exception as exc:
        raise GraphInvariantError(f"node {node.name} ({node.target}) does not run on its "
                                  f"inputs' values: {type(exc).__name__}: {exc}") from exc
    if not _same_shape(_shapes(value), _shapes(node.meta["val"])):
        raise GraphInvariantError(
            f"node {node.name} ({node.target}): meta['val'] {_shapes(node.meta['val'])} but the "
            f"op gives {_shapes(value)}")


__all__ = ["GraphInvariantError", "check_graph"]


class _PhysicalInterpreter(torch.fx.Interpreter):
    def call_function(self, target, args, kwargs):
        if target is aten.view.default:
            target = aten.reshape.default
        return super().call_function(target, args, kwargs)


def run_program(program: torch.export.ExportedProgram, *args) -> list:
    """Run the program's (possibly rewritten) graph in torch on real inputs: the flat
    user outputs. Lets tests check a pass's numerics without TensorFlow."""
    from torch.export.graph_signature import InputKind, OutputKind

    from edgebatch._convert.program_state import state_tensor

    user = iter(args)
    inputs = []
    for spec in program.graph_signature.input_specs:
        if spec.kind == InputKind.USER_INPUT:
            inputs.append(next(user))
        else:
            inputs.append(state_tensor(program, spec))
    with torch.no_grad():
        outputs = _PhysicalInterpreter(program.graph_module).run(*inputs)
    specs = program.graph_signature.output_specs
    return [o for o, s in zip(outputs, specs) if s.kind == OutputKind.USER_OUTPUT]


__all__ += ["run_program"]
