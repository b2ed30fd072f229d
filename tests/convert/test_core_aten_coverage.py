"""Every inference-relevant `torch.Tag.core` overload has a lowering or a decomposition.

PyTorch's core ATen opset is what a backend must cover. Backward ops never reach an
inference graph, and `sym_storage_offset` is size arithmetic torch.export does not emit.
"""

import torch

from edgebatch._convert.export import decomposition_table
from edgebatch._convert.lowerings import lookup
from edgebatch._convert.lowerings.registry import op_name

# Core overloads allowed to have neither, each with the reason.
ALLOWED_WITHOUT_LOWERING: set[str] = set()


def _inference_core_overloads() -> list:
    overloads = []
    for name in dir(torch.ops.aten):
        packet = getattr(torch.ops.aten, name)
        if not isinstance(packet, torch._ops.OpOverloadPacket):
            continue
        if name.endswith("_backward") or name == "sym_storage_offset":
            continue
        for overload in packet.overloads():
            op = getattr(packet, overload)
            if torch.Tag.core in op.tags:
                overloads.append(op)
    return overloads


def test_every_core_aten_overload_lowers_or_decomposes():
    decomposed = decomposition_table()
    core = _inference_core_overloads()
    missing = sorted(op_name(op) for op in core if lookup(op) is None and op not in decomposed)
    print(f"{len(missing)} of {len(core)} inference-relevant core ATen overloads have neither "
          f"a lowering nor a decomposition: {missing}")
    unexpected = sorted(set(missing) - ALLOWED_WITHOUT_LOWERING)
    assert not unexpected, f"core ATen overloads without lowering or decomposition: {unexpected}"
    covered_now = sorted(ALLOWED_WITHOUT_LOWERING - set(missing))
    assert not covered_now, f"covered now, remove from ALLOWED_WITHOUT_LOWERING: {covered_now}"
