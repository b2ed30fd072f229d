"""A region of a graph written out as a standalone Python program.

The module's forward is FX's code for the graph (with the source line each op came
from as a comment); its constants are registered in `__init__`; the sample inputs are
`_args`. Tensors of up to SMALL elements are written out exactly; larger float tensors
become `torch.randn` of their shape and dtype, larger integer tensors random integers in
the range of the real values (so indices stay valid).
"""

from __future__ import annotations

import re
import textwrap
import types

import torch

SMALL = 16
_ALWAYS_DEFINED = {"torch", "inf", "nan", "device"}


def header(*modules: str) -> str:
    """The program's first lines: imports (`modules` too), then a fixed seed."""
    imports = "".join(f"import {m}\n" for m in modules)
    return (f"{imports}import torch\nfrom math import inf, nan\nfrom torch import device\n"
            "import edgebatch\n\ntorch.manual_seed(0)\n")


def module_source(graph_module: torch.fx.GraphModule, class_name: str) -> str:
    """`class <class_name>(torch.nn.Module)` with the graph's constants and forward."""
    code = graph_module.graph.python_code(root_module="self", verbose=True)
    forward = "\n".join(line.rstrip() for line in code.src.strip().splitlines())
    lines = [f"class {class_name}(torch.nn.Module):"]
    buffers = list(graph_module.named_buffers())
    if buffers:
        lines += ["    def __init__(self):", "        super().__init__()"]
        lines += [f"        self.register_buffer({name!r}, {tensor_source(tensor)})"
                  for name, tensor in buffers]
        lines.append("")
    lines.append(textwrap.indent(forward, "    "))
    return "\n".join(_imports(code.globals, code.src) + lines)


def inputs_source(inputs: tuple) -> str:
    items = "".join(f"    {tensor_source(x) if isinstance(x, torch.Tensor) else repr(x)},\n"
                    for x in inputs)
    return f"_args = (\n{items})"


def tensor_source(tensor: torch.Tensor) -> str:
    dtype, shape = str(tensor.dtype), tuple(tensor.shape)
    if tensor.numel() <= SMALL:
        return f"torch.tensor({tensor.tolist()!r}, dtype={dtype})"
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex:
        return f"torch.randn({shape}, dtype={dtype})"
    if tensor.dtype == torch.bool:
        return f"torch.randint(0, 2, {shape}).to(torch.bool)"
    low, high = int(tensor.min()), int(tensor.max())
    return f"torch.randint({low}, {high + 1}, {shape}, dtype={dtype})"


def _imports(names: dict, source: str) -> list[str]:
    """Import lines for the globals FX's code uses beyond HEADER's."""
    lines = []
    for name, value in names.items():
        if name in _ALWAYS_DEFINED or not re.search(rf"\b{re.escape(name)}\b", source):
            continue
        if isinstance(value, types.ModuleType):
            lines.append(f"import {value.__name__} as {name}")
        elif value is type(None):
            lines.append(f"{name} = type(None)")
        else:
            lines.append(f"from {value.__module__} import {value.__qualname__} as {name}")
    return lines + [""] if lines else []
