"""Cheap checks that a pass left a sound graph (run after every pass when checks are on).

Sound, after every pass:
- the FX graph lints (no use before definition, one output node)
- placeholders match the graph signature's input specs, in number and order, and the
  output specs name the nodes the graph outputs
- every call_function node that returns something has a `meta["val"]`, and re-running
  the op on its inputs' values (FakeTensorMode) gives the same shapes and dtypes
- no dead call_function nodes (pure nodes without users)

Tidy, after the cleanup pass (`tidy=True`):
- no identity permutes or reshapes to the input's own static shape
"""

from __future__ import annotations

import torch
from torch._guards import detect_fake_mode
from torch.export.graph_signature import InputKind, OutputKind

from edgebatch._convert.ir.nodes import fake_value, is_static, shape
from edgebatch._convert.program_state import input_placeholders, state_tensor

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


def check_graph(program: torch.export.ExportedProgram, *, tidy: bool = False) -> None:
    """Raise GraphInvariantError naming the first broken node."""
    graph = program.graph_module.graph
    try:
        graph.lint()
    except Exception as exc:  # lint raises RuntimeError with the node named
        raise GraphInvariantError(f"graph lint failed: {exc}") from exc
    try:
        placeholders = [node for node, _ in input_placeholders(program)]
    except RuntimeError as exc:
        raise GraphInvariantError(str(exc)) from exc
    _check_output_specs(program)
    fake_mode = detect_fake_mode([n.meta.get("val") for n in placeholders])
    for node in graph.nodes:
        if node.op != "call_function" or _returns_nothing(node):  # e.g. torch.export's asserts
            continue
        if "val" not in node.meta:
            raise GraphInvariantError(f"node {node.name} ({node.target}) has no meta['val']")
        if not node.users and not node.is_impure():
            raise GraphInvariantError(f"node {node.name} ({node.target}) is dead")
        if tidy:
            _check_tidy(node)
        if fake_mode is not None:
            _check_val(node, fake_mode)


def _returns_nothing(node: torch.fx.Node) -> bool:
    target = node.target
    return isinstance(target, torch._ops.OpOverload) and not target._schema.returns


def _check_output_specs(program: torch.export.ExportedProgram) -> None:
    output = next(n for n in reversed(program.graph_module.graph.nodes) if n.op == "output")
    specs = program.graph_signature.output_specs
    if len(output.args[0]) != len(specs):
        raise GraphInvariantError(f"{len(output.args[0])} outputs for {len(specs)} output specs")
    for value, spec in zip(output.args[0], specs):
        if isinstance(value, torch.fx.Node) and getattr(spec.arg, "name", value.name) != value.name:
            raise GraphInvariantError(f"output {value.name} != output spec {spec.arg.name}")


def _check_tidy(node: torch.fx.Node) -> None:
    if node.target is aten.permute.default and list(node.args[1]) == sorted(node.args[1]):
        raise GraphInvariantError(f"node {node.name} is an identity permute")
    if node.target is aten.view.default:
        src, out = shape(node.args[0]), shape(node)
        if is_static(out) and src == out:
            raise GraphInvariantError(f"node {node.name} reshapes to its input's shape")


def _check_val(node: torch.fx.Node, fake_mode) -> None:
    try:
        value = fake_value(fake_mode, node.target, node.args, node.kwargs)
    except Exception as exc:
        raise GraphInvariantError(f"node {node.name} ({node.target}) does not run on its "
                                  f"inputs' values: {type(exc).__name__}: {exc}") from exc
    if not _same_shape(_shapes(value), _shapes(node.meta["val"])):
        raise GraphInvariantError(
            f"node {node.name} ({node.target}): meta['val'] {_shapes(node.meta['val'])} but the "
            f"op gives {_shapes(value)}")


class _PhysicalInterpreter(torch.fx.Interpreter):
    def call_function(self, target, args, kwargs):
        if target is aten.view.default:
            target = aten.reshape.default
        return super().call_function(target, args, kwargs)


def run_program(program: torch.export.ExportedProgram, *args) -> list:
    """Run the program's (possibly rewritten) graph in torch on real inputs: the flat
    user outputs. Lets tests check a pass's numerics without TensorFlow."""
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


__all__ = ["GraphInvariantError", "check_graph", "run_program"]
