"""Canonical placement of the weights TensorFlow's converter writes after the flatbuffer.

With `_experimental_use_buffer_offset` the converter appends each constant's bytes after
the flatbuffer and records (offset, size) in its `Buffer` table, in an order that changes
from run to run (identical models, different bytes). Re-laying that region in buffer
index order, 16-byte aligned, makes the file a function of the model alone, so the
registry can deduplicate by sha256 and "unchanged" means what it says.
"""

from __future__ import annotations

import struct

from edgebatch._imports import tensorflow

tensorflow()  # the schema module lives inside tensorflow; torch must load first
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

_ALIGNMENT = 16  # the schema's force_align for buffer data
_BUFFER_OFFSET_SLOT = 6  # vtable slot of `Buffer.offset` (schema: data, offset, size)


def _align(position: int) -> int:
    return (position + _ALIGNMENT - 1) // _ALIGNMENT * _ALIGNMENT


def canonical_buffer_layout(flatbuffer: bytes) -> bytes:
    """`flatbuffer` with its out-of-flatbuffer buffers in index order (a no-op when it has none)."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    external = []  # (buffer index, position of its offset field, offset, size)
    for index in range(model.BuffersLength()):
        buffer = model.Buffers(index)
        if buffer.Offset() > 1:  # 0: no external data; 1: a placeholder the runtime ignores
            field = buffer._tab.Pos + buffer._tab.Offset(_BUFFER_OFFSET_SLOT)
            external.append((index, field, buffer.Offset(), buffer.Size()))
    if not external:
        return flatbuffer
    region_start = min(offset for _, _, offset, _ in external)
    out = bytearray(flatbuffer[:region_start])
    for _, field, offset, size in sorted(external):
        out.extend(bytes(_align(len(out)) - len(out)))
        struct.pack_into("<Q", out, field, len(out))
        out.extend(flatbuffer[offset:offset + size])
    return bytes(out)
