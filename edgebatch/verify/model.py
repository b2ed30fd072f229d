"""Verify a .tflite file before LiteRT reads it: flatbuffer bounds, then TFLite's rules.

LiteRT trusts the file once its own flatbuffer check passes, and some damage passes that
check and then crashes the process: an out-of-range tensor, buffer, opcode or subgraph
index, an operator input left out (-1) where the kernel needs one, a negative dimension,
a constant buffer shorter than its tensor, buffers stored outside the flatbuffer
(offset/size, as `_experimental_use_buffer_offset` writes them) that end past the file,
quantization parameters XNNPACK cannot use. `verify_model` checks all of them in Python,
without TensorFlow, and raises ModelLoadError naming the first it finds.
"""

from __future__ import annotations

import math
import re

import numpy as np

from edgebatch.errors import ModelLoadError
from edgebatch.verify import schema
from edgebatch.verify.flatbuffer import FlatbufferError, verify_flatbuffer

SCHEMA_VERSION = 3
# No on-device activation comes near this (a 1x3x8192x8192 float image is 768 MiB); a larger
# one is a damaged shape, and LiteRT (XNNPACK) would spend seconds setting it up. Constant
# tensors are bounded by the file instead.
MAX_ACTIVATION_BYTES = 2**30
_BITS_PER_ELEMENT = {
    "FLOAT32": 32, "FLOAT16": 16, "INT32": 32, "UINT8": 8, "INT64": 64, "BOOL": 8,
    "INT16": 16, "COMPLEX64": 64, "INT8": 8, "FLOAT64": 64, "COMPLEX128": 128, "UINT64": 64,
    "UINT32": 32, "UINT16": 16, "INT4": 4, "BFLOAT16": 16, "INT2": 2, "UINT4": 4,
    "FLOAT8_E4M3FN": 8, "FLOAT8_E5M2": 8,
}  # STRING, RESOURCE and VARIANT tensors have no fixed element size
_ZERO_POINT_RANGE = {
    "INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-2**15, 2**15 - 1), "INT4": (-8, 7),
    "UINT4": (0, 15), "INT2": (-2, 1), "INT32": (-2**31, 2**31 - 1),
}
_NO_TENSOR = -1  # an optional operator input that is left out
# Where an operator may leave an input out (-1): its bias, or any input but the first of
# the recurrent ops and custom ops. A kernel (or XNNPACK) that finds -1 anywhere else
# dereferences a missing tensor.
_OPTIONAL_INPUTS = {
    "FULLY_CONNECTED": {2}, "CONV_2D": {2}, "DEPTHWISE_CONV_2D": {2}, "CONV_3D": {2},
    "TRANSPOSE_CONV": {3}, "CONV_3D_TRANSPOSE": {3}, "SVDF": {3},
}
_OPTIONAL_INPUTS_AFTER_FIRST = {
    "LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "RNN",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN", "CUSTOM",
}
_SMALLEST_SCALE = float(np.finfo(np.float32).tiny)  # XNNPACK crashes on 0 and subnormal scales
# Option fields that hold subgraph indices: WhileOptions.cond_subgraph_index,
# CallOptions.subgraph, StablehloCaseOptions.branch_subgraph_indices, ...
_SUBGRAPH_REFERENCE = re.compile(r"Subgraph(Index|Indices)?$|^CalledComputations$")


class _InvalidModel(Exception):
    """A TFLite rule the model breaks; the message names where."""


def verify_model(data: bytes, source: str = "the model") -> None:
    """Raise ModelLoadError unless `data` is a TFLite model LiteRT can read safely."""
    if len(data) < 8 or bytes(data[4:8]) != schema.FILE_IDENTIFIER:
        raise ModelLoadError(
            f"{source} is not a TFLite flatbuffer (missing the 'TFL3' identifier)")
    try:
        verify_flatbuffer(data, schema.ROOT_TABLE, schema.FILE_IDENTIFIER)
        _ModelChecks(data).run()
    except (FlatbufferError, _InvalidModel) as exc:
        raise ModelLoadError(
            f"{source} is a damaged TFLite model ({exc}); convert or download it again"
        ) from None


def _array(accessor_length, accessor_numpy) -> np.ndarray:
    return accessor_numpy() if accessor_length() else np.zeros(0, np.int64)


class _ModelChecks:
    """TFLite's rules over a structurally verified flatbuffer, read with the generated readers."""

    def __init__(self, data: bytes):
        self.data = data
        self.model = model = schema.reader("Model").GetRootAs(data, 0)
        if model.Version() != SCHEMA_VERSION:
            raise _InvalidModel(
                f"schema version {model.Version()}, LiteRT reads version {SCHEMA_VERSION}")
        if not model.SubgraphsLength():
            raise _InvalidModel("the model has no subgraph")
        self.type_names = schema.enum_names("TensorType")
        self.op_names = schema.enum_names("BuiltinOperator")
        self.buffer_bytes = [self._buffer_bytes(i) for i in range(model.BuffersLength())]
        self.operator_names = self._operator_names()

    def run(self) -> None:
        model = self.model
        for i in range(model.MetadataLength()):
            self._index(model.Metadata(i).Buffer(), len(self.buffer_bytes),
                        f"metadata {i}", "buffer")
        for index in _array(model.MetadataBufferLength, model.MetadataBufferAsNumpy):
            self._index(index, len(self.buffer_bytes), "metadata_buffer", "buffer")
        for g in range(model.SubgraphsLength()):
            self._check_subgraph(g, model.Subgraphs(g))
        for s in range(model.SignatureDefsLength()):
            self._check_signature(model.SignatureDefs(s))

    @staticmethod
    def _index(index, count: int, where: str, what: str) -> None:
        if not 0 <= index < count:
            raise _InvalidModel(f"{where} refers to {what} {index}, but there are {count}")

    def _external_range(self, offset: int, size: int, where: str) -> None:
        if offset + size > len(self.data):
            raise _InvalidModel(f"{where} spans bytes {offset}..{offset + size} of a "
                                f"{len(self.data)}-byte file")

    def _buffer_bytes(self, i: int) -> int:
        buffer = self.model.Buffers(i)
        if buffer.Offset() > 1:  # 0 and 1 mean "no data outside the flatbuffer"
            self._external_range(buffer.Offset(), buffer.Size(), f"buffer {i}")
            return buffer.Size()
        return buffer.DataLength()

    def _operator_names(self) -> list[str]:
        names = []
        for i in range(self.model.OperatorCodesLength()):
            code = self.model.OperatorCodes(i)
            builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())  # as LiteRT reads it
            if builtin not in self.op_names:
                raise _InvalidModel(f"operator code {i} is the unknown builtin {builtin}")
            if self.op_names[builtin] == "CUSTOM" and code.CustomCode() is None:
                raise _InvalidModel(f"custom operator code {i} has no name")
            names.append(self.op_names[builtin])
        return names

    def _check_subgraph(self, g: int, graph) -> None:
        tensors = graph.TensorsLength()
        for t in range(tensors):
            self._check_tensor(f"subgraph {g} tensor {t}", graph.Tensors(t))
        for name, length, values in (("input", graph.InputsLength, graph.InputsAsNumpy),
                                     ("output", graph.OutputsLength, graph.OutputsAsNumpy)):
            for index in _array(length, values):
                self._index(index, tensors, f"subgraph {g} {name}", "tensor")
        for o in range(graph.OperatorsLength()):
            self._check_operator(f"subgraph {g} operator {o}", graph.Operators(o), tensors)

    def _check_tensor(self, where: str, tensor) -> None:
        type_name = self.type_names.get(tensor.Type())
        if type_name is None:
            raise _InvalidModel(f"{where} has the unknown type {tensor.Type()}")
        shape = _array(tensor.ShapeLength, tensor.ShapeAsNumpy)
        if (shape < 0).any():
            raise _InvalidModel(f"{where} has the negative shape {shape.tolist()}")
        signature = _array(tensor.ShapeSignatureLength, tensor.ShapeSignatureAsNumpy)
        if len(signature) and (len(signature) != len(shape)
                               or ((signature != -1) & (signature != shape)).any()):
            raise _InvalidModel(f"{where}: shape signature {signature.tolist()} does not "
                                f"match shape {shape.tolist()}")
        self._index(tensor.Buffer(), len(self.buffer_bytes), where, "buffer")
        bits = _BITS_PER_ELEMENT.get(type_name)
        if bits is None:
            return
        needed = (math.prod(int(d) for d in shape) * bits + 7) // 8
        stored = self.buffer_bytes[tensor.Buffer()]
        if not stored and needed > MAX_ACTIVATION_BYTES:
            raise _InvalidModel(f"{where} of shape {shape.tolist()} would take {needed} bytes")
        if stored and tensor.Sparsity() is None and stored < needed:
            raise _InvalidModel(f"{where} ({type_name.lower()} {shape.tolist()}) needs "
                                f"{needed} bytes, its buffer holds {stored}")
        self._check_quantization(where, tensor.Quantization(), type_name, shape)

    @staticmethod
    def _check_quantization(where: str, quantization, type_name: str,
                            shape: np.ndarray) -> None:
        """Quantization parameters XNNPACK can use (it crashes on a zero point out of range)."""
        if quantization is None:
            return
        scales = _array(quantization.ScaleLength, quantization.ScaleAsNumpy)
        zero_points = _array(quantization.ZeroPointLength, quantization.ZeroPointAsNumpy)
        if len(zero_points) and len(zero_points) != len(scales):
            raise _InvalidModel(f"{where} has {len(scales)} scales but {len(zero_points)} "
                                "zero points")
        if not (np.isfinite(scales) & (scales >= _SMALLEST_SCALE)).all():
            raise _InvalidModel(f"{where} has a quantization scale that is not a positive "
                                "normal float")
        low, high = _ZERO_POINT_RANGE.get(type_name, (-2**63, 2**63 - 1))
        if ((zero_points < low) | (zero_points > high)).any():
            raise _InvalidModel(f"{where} has a zero point outside the {type_name.lower()} "
                                f"range {low}..{high}")
        if len(scales) > 1:
            axis = quantization.QuantizedDimension()
            if not 0 <= axis < len(shape) or shape[axis] != len(scales):
                raise _InvalidModel(f"{where}: {len(scales)} per-channel scales along "
                                    f"dimension {axis} of shape {shape.tolist()}")

    def _check_operator(self, where: str, op, tensors: int) -> None:
        self._index(op.OpcodeIndex(), len(self.operator_names), where, "operator code")
        name = self.operator_names[op.OpcodeIndex()]
        for position, index in enumerate(_array(op.InputsLength, op.InputsAsNumpy)):
            if index != _NO_TENSOR:
                self._index(index, tensors, f"{where} ({name}) input", "tensor")
            elif not (position in _OPTIONAL_INPUTS.get(name, ())
                      or (position and name in _OPTIONAL_INPUTS_AFTER_FIRST)):
                raise _InvalidModel(f"{where} ({name}) leaves out its input {position}, "
                                    "which it needs")
        for index in _array(op.OutputsLength, op.OutputsAsNumpy):
            self._index(index, tensors, f"{where} ({name}) output", "tensor")
        for index in _array(op.IntermediatesLength, op.IntermediatesAsNumpy):
            if index != _NO_TENSOR:
                self._index(index, tensors, f"{where} ({name}) intermediate", "tensor")
        if op.LargeCustomOptionsOffset() > 1:
            self._external_range(op.LargeCustomOptionsOffset(), op.LargeCustomOptionsSize(),
                                 f"{where} custom options")
        # a type without a value is legal: LiteRT then uses the op's default options
        if op.BuiltinOptionsType() and (options := op.BuiltinOptions()) is not None:
            self._check_subgraph_references(where, "BuiltinOptions", op.BuiltinOptionsType(),
                                            options)
        if op.BuiltinOptions2Type() and (options := op.BuiltinOptions2()) is not None:
            self._check_subgraph_references(where, "BuiltinOptions2", op.BuiltinOptions2Type(),
                                            options)

    def _check_subgraph_references(self, where: str, union: str, member_type: int,
                                   table) -> None:
        """Control-flow options (WHILE, IF, CALL_ONCE, StableHLO bodies) name subgraphs."""
        member = schema.union_members(union)[member_type]
        options = schema.reader(member)()
        options.Init(table.Bytes, table.Pos)
        for field in schema.table_fields(member):
            if not _SUBGRAPH_REFERENCE.search(field.name):
                continue
            if field.kind == schema.SCALAR_VECTOR:
                indices = _array(getattr(options, field.name + "Length"),
                                 getattr(options, field.name + "AsNumpy"))
            else:
                indices = [getattr(options, field.name)()]
            for index in indices:
                self._index(index, self.model.SubgraphsLength(), f"{where} {member}",
                            "subgraph")

    def _check_signature(self, signature) -> None:
        where = f"signature {signature.SignatureKey().decode()!r}" \
            if signature.SignatureKey() is not None else "a signature"
        g = signature.SubgraphIndex()
        self._index(g, self.model.SubgraphsLength(), where, "subgraph")
        tensors = self.model.Subgraphs(g).TensorsLength()
        for i in range(signature.InputsLength()):
            self._index(signature.Inputs(i).TensorIndex(), tensors, f"{where} input", "tensor")
        for i in range(signature.OutputsLength()):
            self._index(signature.Outputs(i).TensorIndex(), tensors, f"{where} output", "tensor")
