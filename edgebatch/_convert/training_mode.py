"""Whether a module is converted in training mode, and whether that shows in its graph.

Every nn.Module starts in training mode; for most that changes nothing. Dropout in
training mode puts a random mask into the exported graph, which does not convert; batch
norm in training mode converts, with batch statistics (rarely what is meant: hence the
warning). When a training-only op makes the conversion fail, the fix is `module.eval()`,
not the failing op.
"""

from __future__ import annotations

import torch

aten = torch.ops.aten

# What dropout and batch statistics put into the graph of a module in training mode
_TRAINING_ONLY_OPS = {
    aten.native_dropout,
    aten.bernoulli,
    aten._native_batch_norm_legit_functional,
    aten._native_batch_norm_legit,
}


def in_training_mode(module: torch.nn.Module) -> str | None:
    """Which part of the module is in training mode ('the module', or a submodule), if any."""
    # torch.export(...).module() always reports training mode (PT2E flows use it): skip those.
    if isinstance(module, torch.fx.GraphModule):
        return None
    for path, submodule in module.named_modules():
        if submodule.training:
            return f"submodule '{path}' ({type(submodule).__name__})" if path else "the module"
    return None


def training_only_nodes(program: torch.export.ExportedProgram) -> list[str]:
    """Names of the graph's nodes that only training mode produces (dropout, batch stats)."""
    return [node.name for node in program.graph.nodes
            if getattr(node.target, "_overloadpacket", None) in _TRAINING_ONLY_OPS]
