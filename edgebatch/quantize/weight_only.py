"""weight_only_int8: store the weights of a float flatbuffer as int8.

TF's converter has no weight-only mode for our graphs (dynamic range quantization gives
hybrid kernels, which quantize activations at run time). This rewrite keeps every kernel
float: each large float32 weight of CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED /
TRANSPOSE_CONV / BATCH_MATMUL / EMBEDDING_LOOKUP / GATHER becomes a symmetric int8 tensor
(per output channel where the kernel has one) plus a DEQUANTIZE op that the runtime
evaluates once, at load time (constant input). Activations and biases stay float32.
"""

from __future__ import annotations

import numpy as np

from edgebatch._imports import tensorflow

tensorflow()  # the schema module lives inside tensorflow; torch must load first
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

from edgebatch.quantize.flatbuffer import dequantize_opcode, pack, read  # noqa: E402

_OPS = schema.BuiltinOperator
# op → (index of its weight input, per-channel axis of that weight or None)
_WEIGHT_INPUTS = {
    _OPS.CONV_2D: [(1, 0)],
    _OPS.DEPTHWISE_CONV_2D: [(1, 3)],
    _OPS.FULLY_CONNECTED: [(1, 0)],
    _OPS.TRANSPOSE_CONV: [(1, 0)],
    _OPS.CONV_3D: [(1, 4)],
    _OPS.BATCH_MATMUL: [(0, None), (1, None)],
    _OPS.EMBEDDING_LOOKUP: [(1, None)],
    _OPS.GATHER: [(0, None)],
}


def quantize_weights_only(flatbuffer: bytes, *, min_elements: int = 1024) -> bytes:
    """Return `flatbuffer` with large float32 weights stored as int8 + DEQUANTIZE."""
    model = read(flatbuffer)
    converted: dict[tuple[int, int | None], tuple] = {}  # (buffer, axis) → int8 buffer, params
    for graph in model.subgraphs:
        _rewrite_subgraph(model, graph, converted, min_elements)
    if not converted:
        return flatbuffer
    _drop_unused_buffers(model)
    return pack(model, size_hint=len(flatbuffer) // 3)


def _rewrite_subgraph(model, graph, converted, min_elements: int) -> None:
    new_ops = []
    done: dict[int, int] = {}  # float tensor index → itself (already fed by a DEQUANTIZE)
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        for position, axis in _WEIGHT_INPUTS.get(builtin, []):
            if op.inputs is None or position >= len(op.inputs) or op.inputs[position] < 0:
                continue
            t_index = int(op.inputs[position])
            if t_index in done:
                continue
            tensor = graph.tensors[t_index]
            weight = _float_weight(model, tensor)
            if weight is None or weight.size < min_elements:
                continue
            if axis is not None and (axis >= weight.ndim or weight.shape[axis] == 1):
                axis = None
            key = (tensor.buffer, axis)
            if key not in converted:
                converted[key] = _quantize(model, weight, axis)
            q_buffer, scales = converted[key]
            q_tensor = schema.TensorT()
            q_tensor.shape = list(tensor.shape)
            q_tensor.type = schema.TensorType.INT8
            q_tensor.buffer = q_buffer
            q_tensor.name = (tensor.name or b"weight") + b"_int8"
            params = schema.QuantizationParametersT()
            params.scale = [float(s) for s in scales]
            params.zeroPoint = [0] * len(scales)
            params.quantizedDimension = axis if axis is not None else 0
            q_tensor.quantization = params
            graph.tensors.append(q_tensor)
            q_index = len(graph.tensors) - 1
            # the float tensor becomes the DEQUANTIZE output (no data of its own)
            empty = schema.BufferT()
            model.buffers.append(empty)
            tensor.buffer = len(model.buffers) - 1
            dq = schema.OperatorT()
            dq.opcodeIndex = dequantize_opcode(model, len(scales) > 1)
            dq.inputs = [q_index]
            dq.outputs = [t_index]
            new_ops.append(dq)
            done[t_index] = t_index
    graph.operators = new_ops + list(graph.operators)


def _float_weight(model, tensor):
    if tensor.type != schema.TensorType.FLOAT32 or not tensor.buffer:
        return None
    buffer = model.buffers[tensor.buffer]
    if buffer.data is None or len(buffer.data) == 0:
        return None
    shape = list(tensor.shape) if tensor.shape is not None else []
    return np.frombuffer(np.asarray(buffer.data, np.uint8).tobytes(), np.float32).reshape(shape)


def _quantize(model, weight: np.ndarray, axis: int | None):
    if axis is None:
        amax = np.array([np.abs(weight).max()], np.float64)
        scales = np.where(amax > 0, amax / 127.0, 1.0)
        q = np.round(weight / scales[0])
    else:
        moved = np.moveaxis(weight, axis, 0).reshape(weight.shape[axis], -1)
        amax = np.abs(moved).max(axis=1).astype(np.float64)
        scales = np.where(amax > 0, amax / 127.0, 1.0)
        shape = [1] * weight.ndim
        shape[axis] = -1
        q = np.round(weight / scales.reshape(shape))
    q = np.clip(q, -127, 127).astype(np.int8)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(q.tobytes(), np.uint8)
    model.buffers.append(buffer)
    return len(model.buffers) - 1, scales.astype(np.float32)


def _drop_unused_buffers(model) -> None:
    """Empty the float buffers no tensor points at any more (indices stay valid)."""
    used = {t.buffer for g in model.subgraphs for t in g.tensors}
    used |= {m.buffer for m in model.metadata or []}
    for i, buffer in enumerate(model.buffers):
        if i not in used and buffer.data is not None and len(buffer.data):
            buffer.data = None
