"""The inputs of an exported program, above all its constants: parameters, buffers,
lifted constants.

torch.export lifts every one of them to a placeholder with an input spec; the tensor
itself lives in `program.state_dict` (parameters, persistent buffers) or
`program.constants` (non-persistent buffers, lifted constants).
"""

from __future__ import annotations

import re

import torch
from torch.export.graph_signature import InputKind, InputSpec, TensorArgument

STATE_KINDS = (InputKind.PARAMETER, InputKind.BUFFER, InputKind.CONSTANT_TENSOR)


def input_placeholders(
    program: torch.export.ExportedProgram,
) -> list[tuple[torch.fx.Node, InputSpec]]:
    """Each placeholder with its input spec. torch.export keeps them in the same order, and
    every pass must too (see `add_constant`): where a name does not match, this raises
    instead of binding a tensor to the wrong input."""
    placeholders = [n for n in program.graph_module.graph.nodes if n.op == "placeholder"]
    specs = program.graph_signature.input_specs
    if len(placeholders) != len(specs):
        raise RuntimeError(f"{len(placeholders)} placeholders for {len(specs)} input specs")
    for node, spec in zip(placeholders, specs):
        if getattr(spec.arg, "name", node.name) != node.name:
            raise RuntimeError(f"placeholder {node.name} != input spec {spec.arg.name}")
    return list(zip(placeholders, specs))


def state_tensor(program: torch.export.ExportedProgram, spec: InputSpec) -> torch.Tensor:
    if spec.target in program.state_dict:
        return program.state_dict[spec.target]
    return program.constants[spec.target]


def placeholder_spec(program: torch.export.ExportedProgram,
                     node: torch.fx.Node) -> InputSpec | None:
    """The input spec of a placeholder node (None for anything else)."""
    if not isinstance(node, torch.fx.Node) or node.op != "placeholder":
        return None
    return next((s for s in program.graph_signature.input_specs
                 if getattr(s.arg, "name", None) == node.name), None)


def constant_value(program: torch.export.ExportedProgram, node) -> torch.Tensor | None:
    """The tensor behind a parameter/buffer/constant placeholder, else None."""
    spec = placeholder_spec(program, node)
    if spec is None or spec.kind not in STATE_KINDS:
        return None
    return state_tensor(program, spec)


def add_constant(program: torch.export.ExportedProgram, name: str,
                 tensor: torch.Tensor) -> torch.fx.Node:
    """A new lifted-constant placeholder holding `tensor`, placed before the user inputs
    (placeholders and input specs stay in the same order)."""
    graph = program.graph_module.graph
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    specs = program.graph_signature.input_specs
    index = next((i for i, s in enumerate(specs) if s.kind == InputKind.USER_INPUT), len(specs))
    target = name
    while target in program.constants or target in program.state_dict:
        target += "_"
    node_name = "c_" + re.sub(r"\W", "_", target)  # how torch.export names lifted constants
    anchor = placeholders[index] if index < len(placeholders) else \
        next(n for n in graph.nodes if n.op != "placeholder")
    with graph.inserting_before(anchor):
        node = graph.placeholder(node_name)
    fake_mode = torch._guards.detect_fake_mode([n.meta.get("val") for n in placeholders])
    node.meta["val"] = fake_mode.from_tensor(tensor, static_shapes=True) if fake_mode else tensor
    program.constants[target] = tensor
    specs.insert(index, InputSpec(kind=InputKind.CONSTANT_TENSOR,
                                  arg=TensorArgument(name=node.name), target=target))
    return node


def remove_placeholder(program: torch.export.ExportedProgram, node: torch.fx.Node) -> None:
    """Drop an unused constant placeholder and its input spec (the tensor stays in the
    state dict, which other programs made from the same module may share)."""
    spec = placeholder_spec(program, node)
    if node.users or spec is None or spec.kind not in STATE_KINDS:
        raise ValueError(f"{node.name} is not an unused constant placeholder")
    program.graph_signature.input_specs.remove(spec)
    program.graph_module.graph.erase_node(node)


__all__ = ["STATE_KINDS", "input_placeholders", "state_tensor", "placeholder_spec",
           "constant_value", "add_constant", "remove_placeholder"]
