"""Graph hygiene after the layout pass: no identity reshapes/permutes, no chains of them.

- view(view(x)) → view(x); a view to x's own shape → x
- permute(permute(x)) → one permute; an identity permute → x
- a permute that only moves size-1 dims → a view
- _to_copy to x's own dtype (nothing else changing) → x
- dead code
"""

from __future__ import annotations

import torch

from edgebatch._convert.passes.layout.perm import is_identity, same_memory

aten = torch.ops.aten
VIEWS = (aten.view.default, aten._unsafe_view.default, aten.reshape.default)


def _val(node):
    return node.meta.get("val") if isinstance(node, torch.fx.Node) else None


def _static(shape) -> bool:
    return all(isinstance(s, int) for s in shape)


def _replace(node: torch.fx.Node, new) -> None:
    node.replace_all_uses_with(new)


def cleanup(program: torch.export.ExportedProgram) -> bool:
    graph = program.graph_module.graph
    changed = False
    for node in list(graph.nodes):
        if node.op != "call_function" or not node.users:
            continue
        v = _val(node)
        if node.target in VIEWS:
            src = node.args[0]
            if _val(src) is not None and isinstance(v, torch.Tensor) and _static(v.shape) \
                    and list(_val(src).shape) == list(v.shape):
                _replace(node, src)
                changed = True
            elif isinstance(src, torch.fx.Node) and src.op == "call_function" \
                    and src.target in VIEWS and _static(v.shape):
                node.args = (src.args[0], list(v.shape))
                node.target = aten.view.default
                changed = True
        elif node.target is aten.permute.default:
            src = node.args[0]
            dims = list(node.args[1])
            if is_identity(dims):
                _replace(node, src)
                changed = True
            elif isinstance(src, torch.fx.Node) and src.op == "call_function" \
                    and src.target is aten.permute.default:
                inner = list(src.args[1])
                node.args = (src.args[0], [inner[d] for d in dims])
                changed = True
            elif _static(_val(src).shape) and same_memory(
                    list(_val(src).shape), tuple(range(len(dims))), tuple(dims)):
                node.target = aten.view.default
                node.args = (src, list(v.shape))
                changed = True
        elif node.target is aten._to_copy.default:
            src = node.args[0]
            extra = set(node.kwargs) - {"dtype", "memory_format"}
            if not extra and len(node.args) == 1 and _val(src) is not None \
                    and _val(src).dtype == v.dtype:
                _replace(node, src)
                changed = True
    if changed:
        graph.eliminate_dead_code()
        graph.lint()
        program.graph_module.recompile()
        from edgebatch._convert.passes.layout import sync_output_names

        sync_output_names(program)
    return changed
