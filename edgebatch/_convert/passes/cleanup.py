"""Graph hygiene after the layout pass: no identity reshapes/permutes, no chains of them.

- view(view(x)) → view(x); a view to x's own shape → x
- permute(permute(x)) → one permute; an identity permute → x
- a permute that only moves size-1 dims → a view
- _to_copy to x's own dtype (nothing else changing) → x
- dead code
"""

from __future__ import annotations

import torch

from edgebatch._convert.ir.nodes import VIEWS, is_static, val
from edgebatch._convert.passes.layout.perm import is_identity, same_memory
from edgebatch._convert.passes.manager import PassResult

aten = torch.ops.aten


def cleanup(program: torch.export.ExportedProgram) -> PassResult:
    graph = program.graph_module.graph
    rewrites = 0
    for node in list(graph.nodes):
        if node.op != "call_function" or not node.users:
            continue
        v = val(node)
        if node.target in VIEWS:
            src = node.args[0]
            if val(src) is not None and isinstance(v, torch.Tensor) and is_static(v.shape) \
                    and list(val(src).shape) == list(v.shape):
                node.replace_all_uses_with(src)
                rewrites += 1
            elif isinstance(src, torch.fx.Node) and src.op == "call_function" \
                    and src.target in VIEWS and is_static(v.shape):
                node.args = (src.args[0], list(v.shape))
                node.target = aten.view.default
                rewrites += 1
        elif node.target is aten.permute.default:
            src = node.args[0]
            dims = list(node.args[1])
            if is_identity(dims):
                node.replace_all_uses_with(src)
                rewrites += 1
            elif isinstance(src, torch.fx.Node) and src.op == "call_function" \
                    and src.target is aten.permute.default:
                inner = list(src.args[1])
                node.args = (src.args[0], [inner[d] for d in dims])
                rewrites += 1
            elif is_static(val(src).shape) and same_memory(
                    list(val(src).shape), tuple(range(len(dims))), tuple(dims)):
                node.target = aten.view.default
                node.args = (src, list(v.shape))
                rewrites += 1
        elif node.target is aten._to_copy.default:
            src = node.args[0]
            extra = set(node.kwargs) - {"dtype", "memory_format"}
            if not extra and len(node.args) == 1 and val(src) is not None \
                    and val(src).dtype == v.dtype:
                node.replace_all_uses_with(src)
                rewrites += 1
    if rewrites:
        graph.eliminate_dead_code()
    return PassResult(bool(rewrites), {"rewrites": rewrites})
