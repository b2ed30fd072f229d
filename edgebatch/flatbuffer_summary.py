"""Read a .tflite flatbuffer: op histogram, tensor types, weights that are (not) int8,
each signature's input and output tensors.

Counts come from the flatbuffer itself, not from an interpreter, so delegates and
op fusion at run time do not change them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ai_edge_litert import schema_py_generated as schema  # the schema, without TensorFlow

from edgebatch.errors import ModelLoadError

_OP_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_TRANSFORMS = ("TRANSPOSE", "DEQUANTIZE")


@dataclass
class ModelSummary:
    size_bytes: int
    ops: Counter = field(default_factory=Counter)
    weight_dtypes: Counter = field(default_factory=Counter)
    activation_dtypes: Counter = field(default_factory=Counter)
    ops_on_constants: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    # {signature: {"inputs": [{"name", "shape", "dtype"}], "outputs": [...]}}
    signature_io: dict[str, dict[str, list[dict]]] = field(default_factory=dict)

    @property
    def num_ops(self) -> int:
        return sum(self.ops.values())

    @property
    def transposes(self) -> int:
        return self.ops.get("TRANSPOSE", 0)

    @property
    def int8_weights(self) -> int:
        return self.weight_dtypes.get("int8", 0)

    @property
    def uses_flex(self) -> bool:
        return any(name.startswith("CUSTOM:Flex") for name in self.ops)

    def as_dict(self) -> dict:
        return {
            "size_bytes": self.size_bytes,
            "num_ops": self.num_ops,
            "transposes": self.transposes,
            "gather_nd": self.ops.get("GATHER_ND", 0),
            "int8_weights": self.int8_weights,
            "uses_flex": self.uses_flex,
            "ops": dict(self.ops),
            "weight_dtypes": dict(self.weight_dtypes),
            "activation_dtypes": dict(self.activation_dtypes),
            "ops_on_constants": list(self.ops_on_constants),
            "signatures": list(self.signatures),
            "signature_io": self.signature_io,
        }


def op_name(model, opcode_index: int) -> str:
    code = model.OperatorCodes(opcode_index)
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = _OP_NAMES.get(builtin, str(builtin))
    if name == "CUSTOM":
        return "CUSTOM:" + (code.CustomCode() or b"?").decode()
    return name


def is_constant(model, tensor) -> bool:
    buffer_index = tensor.Buffer()
    if buffer_index == 0:
        return False
    buffer = model.Buffers(buffer_index)
    return buffer.DataLength() > 0 or buffer.Size() > 0


def _signature_io(model, signature) -> dict[str, list[dict]]:
    graph = model.Subgraphs(signature.SubgraphIndex())

    def spec(tensor_map) -> dict:
        tensor = graph.Tensors(tensor_map.TensorIndex())
        dynamic = tensor.ShapeSignatureLength() > 0
        shape = tensor.ShapeSignatureAsNumpy() if dynamic else tensor.ShapeAsNumpy()
        return {"name": tensor_map.Name().decode(),
                "shape": [int(d) for d in shape] if tensor.ShapeLength() else [],
                "dtype": TYPE_NAMES.get(tensor.Type(), str(tensor.Type()))}

    return {"inputs": [spec(signature.Inputs(j)) for j in range(signature.InputsLength())],
            "outputs": [spec(signature.Outputs(j)) for j in range(signature.OutputsLength())]}


def summarize(flatbuffer: bytes) -> ModelSummary:
    if len(flatbuffer) < 8 or flatbuffer[4:8] != b"TFL3":
        raise ModelLoadError("not a TFLite flatbuffer (missing the 'TFL3' identifier)")
    try:
        model = schema.Model.GetRootAsModel(flatbuffer, 0)
        summary = ModelSummary(size_bytes=len(flatbuffer))
        for i in range(model.SignatureDefsLength()):
            signature = model.SignatureDefs(i)
            key = signature.SignatureKey().decode()
            summary.signatures.append(key)
            summary.signature_io[key] = _signature_io(model, signature)
        seen_weights: set[tuple[int, int]] = set()
        for g in range(model.SubgraphsLength()):
            graph = model.Subgraphs(g)
            for t in range(graph.TensorsLength()):
                tensor = graph.Tensors(t)
                dtype = TYPE_NAMES.get(tensor.Type(), str(tensor.Type()))
                if is_constant(model, tensor):
                    if (g, tensor.Buffer()) not in seen_weights:
                        seen_weights.add((g, tensor.Buffer()))
                        summary.weight_dtypes[dtype] += 1
                else:
                    summary.activation_dtypes[dtype] += 1
            for o in range(graph.OperatorsLength()):
                op = graph.Operators(o)
                name = op_name(model, op.OpcodeIndex())
                summary.ops[name] += 1
                if name in _TRANSFORMS and op.InputsLength():
                    source = graph.Tensors(op.Inputs(0))
                    if is_constant(model, source):
                        summary.ops_on_constants.append(f"{name}({source.Name().decode()})")
        return summary
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"corrupt TFLite flatbuffer: {exc}") from exc
