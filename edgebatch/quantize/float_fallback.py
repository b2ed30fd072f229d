"""int8 ops that XNNPACK does not run become float ops between DEQUANTIZE and QUANTIZE.

A full-int8 model (the `int8` preset, PT2E static) can hold int8 ops that XNNPACK's
delegate does not take, such as HARD_SWISH on this machine's LiteRT: each one runs on
LiteRT's reference kernel and cuts the delegated graph (mobilenet_v3_small: 19 of them, 20
partitions, 2× slower than float). XNNPACK does take the float op and the QUANTIZE /
DEQUANTIZE around it, so the model stays in one partition; the numerics are those of the
float op on the same int8 input, rounded to the same int8 output parameters.

The rewrite: every int8 input (activation or constant) gets a DEQUANTIZE, every int8
output a QUANTIZE; ops with an int32 bias are left alone (moving convnext_tiny's int8
FULLY_CONNECTEDs to float gave one partition but 1.16×/1.57× fp32 latency at 1/2 threads,
against 0.88×/1.16× with them int8 in 19 partitions).
Which ops: the ones the runtime itself leaves out (edgebatch.delegate_coverage), not a
list kept here. The rewrite is kept only if XNNPACK then takes more of the graph.
"""

from __future__ import annotations

from edgebatch._imports import tensorflow

tensorflow()  # the schema module lives inside tensorflow; torch must load first
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

from edgebatch.delegate_coverage import delegate_coverage  # noqa: E402
from edgebatch.quantize.flatbuffer import dequantize_opcode, pack, read  # noqa: E402

_INT8, _INT32, _FLOAT32 = schema.TensorType.INT8, schema.TensorType.INT32, schema.TensorType.FLOAT32
_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_QUANTIZE_VERSION = 2  # float32 → int8


def float_fallback(flatbuffer: bytes) -> tuple[bytes, list[str]]:
    """(flatbuffer, op types moved to float). Unchanged when XNNPACK takes every int8 op
    or the rewrite would not cut the number of delegate partitions."""
    coverage = delegate_coverage(flatbuffer)
    op_types = sorted({n.op for n in coverage.not_delegated if n.form == "int8"})
    if not op_types:
        return flatbuffer, []
    model = read(flatbuffer)
    rewritten = 0
    for graph in model.subgraphs:
        rewritten += _run_in_float(model, graph, set(op_types))
    if not rewritten:
        return flatbuffer, []
    candidate = pack(model, size_hint=len(flatbuffer))
    if delegate_coverage(candidate).partitions >= coverage.partitions:
        return flatbuffer, []
    return candidate, op_types


def _run_in_float(model, graph, op_types: set[str]) -> int:
    """Rewrite every op of `op_types` whose tensors are int8 activations (plus int32
    shapes); returns how many."""
    new_ops, count = [], 0
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        name = _OP_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode))
        if name not in op_types or not _int8_only(graph, op):
            new_ops.append(op)
            continue
        inputs, before = [], []
        for t in op.inputs:
            if t >= 0 and graph.tensors[t].type == _INT8:
                before.append(_dequantize_op(model, graph, int(t)))
                inputs.append(before[-1].outputs[0])
            else:
                inputs.append(int(t))
        outputs, after = [], []
        for t in op.outputs:
            float_tensor = _float_twin(model, graph, int(t))
            q = schema.OperatorT()
            q.opcodeIndex = _quantize_opcode(model)
            q.inputs, q.outputs = [float_tensor], [int(t)]
            after.append(q)
            outputs.append(float_tensor)
        op.inputs, op.outputs = inputs, outputs
        new_ops += [*before, op, *after]
        count += 1
    graph.operators = new_ops
    return count


def _int8_only(graph, op) -> bool:
    """int8 tensors and int32 shapes/indices only; an int32 bias (quantized) means a
    kernel whose float form needs a float bias, which this rewrite does not make."""
    tensors = [graph.tensors[t] for t in [*op.inputs, *op.outputs] if t >= 0]
    return (any(t.type == _INT8 for t in tensors)
            and all(t.type == _INT8 or (t.type == _INT32 and not _quantized(t)) for t in tensors)
            and all(graph.tensors[t].type == _INT8 for t in op.outputs))


def _quantized(tensor) -> bool:
    q = tensor.quantization
    return q is not None and q.scale is not None and len(q.scale) > 0


def _dequantize_op(model, graph, int8_tensor: int):
    dq = schema.OperatorT()
    scales = graph.tensors[int8_tensor].quantization.scale
    dq.opcodeIndex = dequantize_opcode(model, per_channel=len(scales) > 1)
    dq.inputs, dq.outputs = [int8_tensor], [_float_twin(model, graph, int8_tensor)]
    return dq


def _float_twin(model, graph, index: int) -> int:
    source = graph.tensors[index]
    tensor = schema.TensorT()
    tensor.shape = list(source.shape) if source.shape is not None else []
    tensor.shapeSignature = source.shapeSignature
    tensor.type = _FLOAT32
    model.buffers.append(schema.BufferT())
    tensor.buffer = len(model.buffers) - 1
    tensor.name = (source.name or b"tensor") + b"_float"
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _quantize_opcode(model) -> int:
    for i, code in enumerate(model.operatorCodes):
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == schema.BuiltinOperator.QUANTIZE and code.version == _QUANTIZE_VERSION:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.QUANTIZE
    code.version = _QUANTIZE_VERSION
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1
