"""Put back whole ops that torch.export took apart, so later passes see one node.

- instance norm: torch.export traces InstanceNorm as view(x, [1, N*C, ...]) →
  batch norm with batch statistics (weights repeated N times) → view back. That is
  group norm with one group per channel; `aten.group_norm` is what the layout pass
  turns into a channels-last op.
"""

from __future__ import annotations

import operator

import torch

from edgebatch._convert.ir.nodes import copy_meta, same_sizes, shape
from edgebatch._convert.passes.manager import PassResult

aten = torch.ops.aten


def _repeat_source(node, times):
    """w for `repeat(w, [times])`, None for None, False if it is something else."""
    if node is None:
        return None
    if (isinstance(node, torch.fx.Node) and node.target is aten.repeat.default
            and same_sizes(list(node.args[1]), [times])):
        return node.args[0]
    return False


def _instance_norm(bn: torch.fx.Node):
    """(x, weight, bias, eps, the view that ends the pattern) or None."""
    flat, weight, bias, training, _momentum, eps = bn.args
    if not training or flat.target is not aten.view.default:
        return None
    x = flat.args[0]
    x_shape = shape(x)
    if len(x_shape) < 3 or not isinstance(x_shape[1], int):
        return None
    n, c = x_shape[0], x_shape[1]
    if not same_sizes(shape(flat), [1, n * c, *x_shape[2:]]):
        return None
    weight, bias = _repeat_source(weight, n), _repeat_source(bias, n)
    if weight is False or bias is False:
        return None
    users = list(bn.users)
    if len(users) != 1 or users[0].target is not operator.getitem or users[0].args[1] != 0:
        return None
    views = list(users[0].users)
    if len(views) != 1 or views[0].target is not aten.view.default \
            or not same_sizes(shape(views[0]), x_shape):
        return None
    return x, weight, bias, eps, views[0]


def canonicalize(program: torch.export.ExportedProgram) -> PassResult:
    graph = program.graph_module.graph
    instance_norms = 0
    for node in list(graph.nodes):
        if node.op != "call_function" or node.target is not aten._native_batch_norm_legit.no_stats:
            continue
        match = _instance_norm(node)
        if match is None:
            continue
        x, weight, bias, eps, end = match
        with graph.inserting_before(end):
            norm = graph.call_function(aten.group_norm.default,
                                       (x, shape(x)[1], weight, bias, eps))
        norm.meta.update(copy_meta(node))
        norm.meta["val"] = end.meta["val"]
        end.replace_all_uses_with(norm)
        instance_norms += 1
    if instance_norms:
        graph.eliminate_dead_code()
    return PassResult(bool(instance_norms), {"instance_norms": instance_norms})
