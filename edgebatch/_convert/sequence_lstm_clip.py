"""Turn off the cell-state clipping TF's converter writes into fused sequence LSTMs.

The converter builds UNIDIRECTIONAL_SEQUENCE_LSTM from keras' LSTM interface with
keras' cell_clip of 10: the kernel then clamps the cell state to [-10, 10], which
PyTorch never does (a cell state that grows past 10 and comes back would diverge).
0 means "no clipping"; the options table stores the 10 as a float field, so the
value is overwritten in place and the file keeps its size and layout.
"""

from __future__ import annotations

import struct

from ai_edge_litert import schema_py_generated as schema

_CELL_CLIP_SLOT = 6  # vtable slot of UnidirectionalSequenceLSTMOptions.cell_clip


def without_lstm_cell_clip(flatbuffer: bytes) -> bytes:
    """`flatbuffer` with every UNIDIRECTIONAL_SEQUENCE_LSTM's cell_clip set to 0."""
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    lstm_codes = {
        index for index in range(model.OperatorCodesLength())
        if max(model.OperatorCodes(index).BuiltinCode(),
               model.OperatorCodes(index).DeprecatedBuiltinCode())
        == schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM
    }
    if not lstm_codes:
        return flatbuffer
    patched = bytearray(flatbuffer)
    for s in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            if op.OpcodeIndex() not in lstm_codes:
                continue
            table = op.BuiltinOptions()
            options = schema.UnidirectionalSequenceLSTMOptions()
            options.Init(table.Bytes, table.Pos)
            field = options._tab.Offset(_CELL_CLIP_SLOT)
            if field:  # absent means 0 already
                struct.pack_into("<f", patched, options._tab.Pos + field, 0.0)
    return bytes(patched)
