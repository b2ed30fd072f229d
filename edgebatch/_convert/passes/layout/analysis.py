"""Which nodes carry a layout decision, and which are constants.

Constants (parameters, buffers, lifted constants, and everything computed from them
alone) are laid out at conversion time: any layout a consumer wants costs nothing,
because TF's converter folds the permute into the constant.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
from torch.export.graph_signature import InputKind

from edgebatch._convert.passes.layout.rules.registry import CONSTANT_KEY
from edgebatch._convert.program_state import STATE_KINDS, input_placeholders


@dataclass
class GraphFacts:
    order: list[torch.fx.Node]
    constants: set[torch.fx.Node] = field(default_factory=set)
    user_inputs: list[torch.fx.Node] = field(default_factory=list)
    decisions: list[torch.fx.Node] = field(default_factory=list)  # nodes that pick a frame
    output: torch.fx.Node | None = None


def _impure(node: torch.fx.Node) -> bool:
    target = node.target
    if isinstance(target, torch._ops.OpOverload):
        if target._schema.is_mutable or torch.Tag.nondeterministic_seeded in target.tags:
            return True
    return False


def analyze(program: torch.export.ExportedProgram) -> GraphFacts:
    graph = program.graph_module.graph
    facts = GraphFacts(order=list(graph.nodes))
    for node, spec in input_placeholders(program):
        if spec.kind in STATE_KINDS:
            facts.constants.add(node)
        elif spec.kind == InputKind.USER_INPUT:
            facts.user_inputs.append(node)
    for node in facts.order:
        if node.op == "get_attr":
            facts.constants.add(node)
        elif node.op == "call_function":
            inputs = node.all_input_nodes
            if inputs and all(n in facts.constants for n in inputs) and not _impure(node):
                facts.constants.add(node)
            elif not inputs and not _impure(node) and node.target is not operator.getitem:
                facts.constants.add(node)  # factories: full, arange, ...
            elif node.target is not operator.getitem:
                facts.decisions.append(node)
        elif node.op == "output":
            facts.output = node
    for node in facts.order:
        node.meta[CONSTANT_KEY] = node in facts.constants
    return facts


def clear_marks(graph: torch.fx.Graph) -> None:
    for node in graph.nodes:
        node.meta.pop(CONSTANT_KEY, None)
