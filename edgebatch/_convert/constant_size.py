"""Fail fast on constants too big for a TFLite flatbuffer (2 GB).

TF's converter takes minutes, and tens of GB of memory, to find out that a 14 GB weight
or a `torch.full((60000, 60000), 1.0)` in forward does not fit. The exported program
already knows every constant's shape: its parameters, buffers and lifted constants, and
every value computed from constants alone, which TF's converter folds into the file.
The constants that reach the file are those that a computation on the inputs uses.
"""

from __future__ import annotations

import torch
from torch.export.graph_signature import InputKind

from edgebatch._convert.program_state import STATE_KINDS
from edgebatch._convert.source import user_source_line
from edgebatch.errors import ModelTooLargeError

FLATBUFFER_LIMIT_BYTES = 2**31 - 1
# bytes per element as stored in the flatbuffer: int64 → int32, float64/bfloat16 → float32
_STORED_BYTES = {torch.int64: 4, torch.float64: 4, torch.bfloat16: 4}


def check_constant_size(program: torch.export.ExportedProgram, signature_name: str) -> None:
    constants = _constant_nodes(program)
    stored = {node: _stored_bytes(node) for node in constants if _reaches_file(node, constants)}
    total = sum(stored.values())
    if total <= FLATBUFFER_LIMIT_BYTES:
        return
    largest = max(stored, key=stored.get)
    value = largest.meta["val"]
    origin = user_source_line(largest)
    raise ModelTooLargeError(
        f"signature '{signature_name}': the model's constants take {total / 1e9:.1f} GB, more "
        "than the 2 GB a TFLite flatbuffer holds. Compute large tensors from the inputs at "
        "run time, or make the weights smaller (quantize them, split the model). Largest: "
        f"'{largest.name}', {str(value.dtype).removeprefix('torch.')} {list(value.shape)}, "
        f"{stored[largest] / 1e9:.1f} GB" + (f", at {origin}" if origin else "")
    )


def _constant_nodes(program: torch.export.ExportedProgram) -> set[torch.fx.Node]:
    """Weights, buffers, lifted constants, and every node computed from those alone."""
    kinds = {spec.arg.name: spec.kind for spec in program.graph_signature.input_specs}
    constants: set[torch.fx.Node] = set()
    for node in program.graph_module.graph.nodes:
        if node.op == "placeholder":
            if kinds.get(node.name, InputKind.USER_INPUT) in STATE_KINDS:
                constants.add(node)
        elif node.op == "call_function" and all(n in constants for n in node.all_input_nodes):
            constants.add(node)
    return constants


def _reaches_file(node: torch.fx.Node, constants: set[torch.fx.Node]) -> bool:
    return any(user not in constants for user in node.users)


def _stored_bytes(node: torch.fx.Node) -> int:
    value = node.meta.get("val")
    if not isinstance(value, torch.Tensor):
        return 0
    try:
        elements = int(value.numel())
    except (TypeError, RuntimeError):  # a symbolic size: not a constant of the file
        return 0
    return elements * _STORED_BYTES.get(value.dtype, value.element_size())
