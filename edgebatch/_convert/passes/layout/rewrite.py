"""Apply a layout decision: build the new FX graph on physical tensors.

Every node is rewritten by its rule in the frame the partitioner chose. Where a
consumer needs a producer's tensor in another layout, one conversion is inserted
(cached, so consumers that want the same layout share it): a reshape when the bytes
are already in order, otherwise a permute in its smallest rank. Every new node keeps
the source metadata (stack trace, module stack) of the node it was rewritten from;
its `meta["val"]` is the physical tensor, computed with the graph's FakeTensorMode.
"""

from __future__ import annotations

import copy
import operator

import torch

from edgebatch._convert.ir.nodes import (
    copy_meta, fake_value, force_name, graph_fake_mode, is_static, is_tensor_node, shape, val,
)
from edgebatch._convert.passes.layout.analysis import GraphFacts
from edgebatch._convert.passes.layout.partition import Decision
from edgebatch._convert.passes.layout.perm import (
    Perm, identity, is_identity, permute_list, reduce_transpose, relative, same_memory,
)
from edgebatch._convert.passes.layout.rules.registry import CONSTANT_KEY, FIXED, Plan, rule_for

aten = torch.ops.aten
LAYOUT_META = "edgebatch_layout"  # why a node exists: "transpose", "reshape", "matmul_adjoint"
# On the node that now computes an original node's value: that value is the original
# (torch-layout) tensor permuted by this tuple. Per-node accuracy tools invert it.
PHYSICAL_LAYOUT_META = "edgebatch_physical_layout"


def _meta(source: torch.fx.Node) -> dict:
    """Source metadata for a node of the new graph (without the analysis' marks)."""
    return copy_meta(source, drop=(CONSTANT_KEY,))


class Builder:
    def __init__(self, program: torch.export.ExportedProgram, facts: GraphFacts,
                 decision: Decision):
        self.old = program.graph_module.graph
        self.graph = torch.fx.Graph()
        self.graph._codegen = copy.deepcopy(self.old._codegen)
        self.facts = facts
        self.decision = decision
        self.values: dict[torch.fx.Node, object] = {}
        self.layouts: dict[torch.fx.Node, Perm | None] = {}
        self.flatten_order: dict[torch.fx.Node, tuple] = {}
        self._converted: dict[tuple, torch.fx.Node] = {}
        self.current: torch.fx.Node | None = None
        self.created: set[torch.fx.Node] = set()
        self.fake_mode = graph_fake_mode(self.old)
        self.transposes = 0

    # --- reading the old graph -----------------------------------------------------------
    def value(self, old):
        """The new graph's value for an old node (or nested args containing nodes)."""
        return torch.fx.node.map_arg(old, lambda n: self.values[n])

    def frame(self, old):
        return self.decision.frames.get(old)

    @staticmethod
    def value_node(new):
        return new if isinstance(new, torch.fx.Node) and new.op == "call_function" else None

    @staticmethod
    def phys_shape(new: torch.fx.Node) -> list:
        return list(new.meta["val"].shape)

    def force_name(self, node: torch.fx.Node, name: str) -> None:
        force_name(self.graph, node, name)

    # --- emitting --------------------------------------------------------------------------
    def call(self, target, args, kwargs=None, *, tuple_outputs: int = 0, reason: str | None = None,
             adjoint: bool = False, value=None, name: str | None = None, meta_from=None):
        """A new call_function node with the current node's source metadata."""
        kwargs = kwargs or {}
        node = self.graph.call_function(target, tuple(args), kwargs)
        self.created.add(node)
        node.meta.update(_meta(meta_from or self.current))
        node.meta["val"] = value if value is not None else \
            fake_value(self.fake_mode, target, args, kwargs)
        if adjoint:
            node.meta[LAYOUT_META] = "matmul_adjoint"
        elif reason:
            node.meta[LAYOUT_META] = reason
        if name:
            node._rename(name)
        if not tuple_outputs:
            return node
        used = {u.args[1] for u in self.current.users if u.target is operator.getitem}
        return [self.call(operator.getitem, (node, i)) if i in used else None
                for i in range(tuple_outputs)]

    def input(self, old, layout) -> object:
        """old's value in `layout` (a conversion is inserted once per (old, layout))."""
        if not is_tensor_node(old):
            return self.value(old)
        layout = tuple(layout)
        have = self.layouts[old]
        if have == layout:
            return self.values[old]
        key = (old, layout)
        if key not in self._converted:
            self._converted[key] = self._convert(old, have, layout)
        return self._converted[key]

    def _convert(self, old, have: Perm, want: Perm) -> torch.fx.Node:
        """A conversion carries its consumer's source line (or its producer's, before an output)."""
        consumer = self.current
        source = consumer if consumer.meta.get("stack_trace") else old
        self.current = source
        try:
            return self._convert_from(old, have, want)
        finally:
            self.current = consumer

    def _convert_from(self, old, have: Perm, want: Perm) -> torch.fx.Node:
        src = self.values[old]
        logical = shape(old)
        target_shape = permute_list(logical, want)
        rel = relative(have, want)
        static = is_static(logical)
        tag = f"{old.name}_layout"
        if static and same_memory(logical, have, want):
            return self.call(aten.view.default, (src, target_shape), reason="reshape", name=tag)
        self.transposes += old not in self.facts.constants
        # GPU delegates cap transposes at rank 4 (some at 5): use the smallest rank, but
        # only reshape around a transpose that is above rank 4 to begin with
        reduced = reduce_transpose(permute_list(logical, have), rel) \
            if static and len(rel) > 4 else None
        if reduced is not None and len(reduced[1]) < len(rel):
            sizes, perm = reduced
            x = self.call(aten.view.default, (src, sizes), reason="reshape", name=tag)
            x = self.call(aten.permute.default, (x, list(perm)), reason="transpose", name=tag)
            return self.call(aten.view.default, (x, target_shape), reason="reshape", name=tag)
        return self.call(aten.permute.default, (src, list(rel)), reason="transpose", name=tag)

    def copy_with_inputs(self, old, plan: Plan):
        """The same op, with each tensor input in the layout the plan names."""
        layouts = iter(plan.needs)

        def convert(n):
            if is_tensor_node(n):
                return self.input(n, next(layouts)[1])
            return self.values[n]

        args, kwargs = torch.fx.node.map_arg((old.args, old.kwargs), convert)
        unchanged = all(is_identity(p) for _, p in plan.needs) and \
            all(p is None or is_identity(p) for p in plan.outs)
        node = self.graph.call_function(old.target, args, kwargs)
        self.created.add(node)
        node.meta.update(_meta(old))
        node.meta["val"] = old.meta.get("val") if unchanged else \
            fake_value(self.fake_mode, old.target, args, kwargs)
        return node


def _mark_layout(b: Builder, node: torch.fx.Node) -> None:
    value, layout = b.values.get(node), b.layouts.get(node)
    if not isinstance(value, torch.fx.Node) or value.op != "call_function" or layout is None:
        return
    if value in b.created or node.target is operator.getitem:
        value.meta[PHYSICAL_LAYOUT_META] = tuple(layout)


def rewrite(program: torch.export.ExportedProgram, facts: GraphFacts,
            decision: Decision) -> tuple[torch.fx.Graph, int]:
    b = Builder(program, facts, decision)
    g = b.graph
    for node in b.old.nodes:
        b.current = node
        b.created = set()
        if node.op == "placeholder":
            new = g.placeholder(node.name, type_expr=node.type)
            force_name(g, new, node.name)
            new.meta.update(_meta(node))
            new.meta["val"] = node.meta.get("val")
            b.values[node] = new
            b.layouts[node] = identity(val(node).dim()) if is_tensor_node(node) else None
        elif node.op == "get_attr":
            new = g.get_attr(node.target)
            new.meta.update(_meta(node))
            new.meta["val"] = node.meta.get("val")
            b.values[node] = new
            b.layouts[node] = identity(val(node).dim()) if is_tensor_node(node) else None
        elif node.op == "output":
            out = torch.fx.node.map_arg(
                node.args[0],
                lambda n: b.input(n, identity(val(n).dim())) if is_tensor_node(n) else b.values[n])
            new = g.output(out)
            new.meta.update(_meta(node))
        elif node in facts.constants or node.op != "call_function":
            new = g.node_copy(node, lambda n: b.values[n])
            new.meta.pop(CONSTANT_KEY, None)
            b.values[node] = new
            b.layouts[node] = identity(val(node).dim()) if is_tensor_node(node) else None
        elif node.target is operator.getitem:
            container, index = node.args
            cv = b.values[container]
            if isinstance(cv, list):
                b.values[node] = cv[index]
            else:
                new = g.call_function(operator.getitem, (cv, index))
                new.meta.update(_meta(node))
                new.meta["val"] = cv.meta["val"][index]
                b.values[node] = new
            plan = decision.plans.get(container)
            outs = plan.outs if plan is not None else []
            b.layouts[node] = outs[index] if index < len(outs) else (
                identity(val(node).dim()) if is_tensor_node(node) else None)
        else:
            frame, plan = decision.frames[node], decision.plans[node]
            rule = decision.rules.get(node, rule_for(node))
            result = rule.rewrite(node, frame, plan, b) if rule is not FIXED else \
                b.copy_with_inputs(node, plan)
            b.values[node] = result
            if isinstance(result, torch.fx.Node) and result in b.created \
                    and result.name != node.name and LAYOUT_META not in result.meta:
                result._rename(node.name)
            b.layouts[node] = plan.outs[0] if plan.outs and not isinstance(result, list) else None
        _mark_layout(b, node)
    g.eliminate_dead_code()
    g.lint()
    return g, b.transposes
