"""An exported graph with every node's value, cut into standalone subgraphs.

The culprit search cuts regions out of the model's exported (core ATen) graph. A region
becomes a module of its own: the values flowing into it from the rest of the graph are
its inputs (the tensors the full graph computed on the sample inputs), the model's
weights it reads stay constants of it, and every value it computes that the rest of the
graph reads, or nothing reads, is an output. Any set of units is a valid region, and its
nodes keep their names in the model's graph.
"""

from __future__ import annotations

import operator
from typing import Any, Iterable

import torch
from torch.export.graph_signature import InputKind

from edgebatch._convert.ir.nodes import force_name

CLASS_NAME = "CulpritGraphModule"

Unit = tuple  # the nodes cut together: an op and the getitems unpacking its outputs


class FlatGraph:
    """`program`'s graph with the value every node takes on the sample inputs."""

    def __init__(self, program: torch.export.ExportedProgram, args: tuple, kwargs: dict):
        graph_module = program.graph_module
        placeholders = [n for n in graph_module.graph.nodes if n.op == "placeholder"]
        user_inputs = {s.arg.name for s in program.graph_signature.input_specs
                       if s.kind == InputKind.USER_INPUT}
        self.constants = {n for n in placeholders if n.name not in user_inputs}
        recorder = torch.fx.Interpreter(graph_module, garbage_collect_values=False)
        with torch.no_grad():
            recorder.run(*program._graph_module_flat_inputs(args, kwargs))
        self.values: dict[torch.fx.Node, Any] = dict(recorder.env)
        self.units: list[Unit] = _units(graph_module.graph)

    def extract(self, units: Iterable[Unit]) -> tuple[torch.fx.GraphModule, tuple] | None:
        """The region made of `units` as a module and its inputs, or None if it computes
        no tensor."""
        inside = {node for unit in units for node in unit}
        ordered = [node for unit in self.units for node in unit if node in inside]
        graph = torch.fx.Graph()
        root = torch.nn.Module()
        outside: dict[torch.fx.Node, torch.fx.Node] = {}
        inputs = []
        for node in ordered:  # placeholders come first in a graph
            for source in node.all_input_nodes:
                value = self.values[source]
                if source in inside or source in outside or source in self.constants \
                        or not isinstance(value, torch.Tensor):
                    continue
                outside[source] = _named(graph, graph.placeholder(source.name), source)
                inputs.append(value)

        def outer_value(source: torch.fx.Node):
            if source in outside:
                return outside[source]
            if source in self.constants:
                root.register_buffer(source.name, self.values[source].detach())
                outside[source] = _named(graph, graph.get_attr(source.name), source)
                return outside[source]
            return self.values[source]  # a Python value (int, list, ...) becomes a literal

        copies: dict[torch.fx.Node, torch.fx.Node] = {}
        for node in ordered:
            copy = graph.node_copy(node, lambda n: copies[n] if n in inside else outer_value(n))
            force_name(graph, copy, node.name)
            copies[node] = copy
        outputs = [copies[n] for n in ordered if isinstance(self.values[n], torch.Tensor)
                   and (not n.users or any(user not in inside for user in n.users))]
        if not outputs:
            return None
        graph.output(tuple(outputs))
        return torch.fx.GraphModule(root, graph, class_name=CLASS_NAME), tuple(inputs)


def _named(graph: torch.fx.Graph, new: torch.fx.Node, source: torch.fx.Node) -> torch.fx.Node:
    """`new` stands for `source` in a region: same name, same FakeTensor."""
    force_name(graph, new, source.name)
    new.meta["val"] = source.meta.get("val")
    return new


def _units(graph: torch.fx.Graph) -> list[Unit]:
    units: list[list[torch.fx.Node]] = []
    unit_of: dict[torch.fx.Node, list[torch.fx.Node]] = {}
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        if node.target is operator.getitem and node.args[0] in unit_of:
            unit = unit_of[node.args[0]]
            unit.append(node)
        else:
            unit = [node]
            units.append(unit)
        unit_of[node] = unit
    return [tuple(unit) for unit in units]
