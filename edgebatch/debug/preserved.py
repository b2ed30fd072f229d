"""The intermediate tensors a .tflite computes, by the FX node whose value each holds.

LiteRT keeps every intermediate when asked (`experimental_preserve_all_tensors`), with
the default delegates off so that no op runs inside XNNPACK where its tensors are not
kept. TF's converter names a tensor after the TF ops it came from, joined by ';' when it
fused several (`relu/Relu;convolution/BiasAdd;convolution/Conv2D`), possibly with a
digit appended to keep names unique. The converter records the TF tensor of every FX
node (`model.report["node_to_tf_name"]`), so a tensor holds the value of the latest node
in graph order among those its name lists (a fused op computes its chain's last value),
if that node's value has the tensor's shape. A signature output is renamed by TF; it
holds the value of the node the graph returns there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edgebatch._imports import tensorflow
from edgebatch.call_inputs import signature_feeds

tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402

_OUTPUT_INDEX = re.compile(r":(\d+)$")


@dataclass(frozen=True)
class PreservedTensor:
    value: np.ndarray  # real-valued: int8/int16 tensors are dequantized
    quantized: bool


def preserved_node_values(
    flatbuffer: bytes,
    signature_name: str,
    args: tuple,
    kwargs: dict,
    node_tf_names: dict[str, str],
    node_shapes: dict[str, tuple],
    output_nodes: dict[str, str],
) -> dict[str, PreservedTensor]:
    """Run the signature on the sample inputs and read back every op's output, by node name.

    node_tf_names: node name → TF tensor name (`scope/Op:k`); node_shapes: node name →
    shape of its value as the .tflite holds it, for the nodes wanted, in graph order;
    output_nodes: signature output name → the node it returns.
    """
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_content=flatbuffer, experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    runner = interpreter.get_signature_runner(signature_name)
    runner(**signature_feeds(signature_name, runner.get_input_details(), args, kwargs))

    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    signature = next(model.SignatureDefs(i) for i in range(model.SignatureDefsLength())
                     if model.SignatureDefs(i).SignatureKey().decode() == signature_name)
    subgraph_index = signature.SubgraphIndex()
    subgraph = model.Subgraphs(subgraph_index)
    order = {name: i for i, name in enumerate(node_shapes)}
    nodes_of = _nodes_by_tf_output(node_tf_names, order)
    returned = {}  # tensor index → the node a signature output returns
    for i in range(signature.OutputsLength()):
        output = signature.Outputs(i)
        returned[output.TensorIndex()] = output_nodes.get(output.Name().decode())

    found: dict[str, PreservedTensor] = {}
    for op_index in range(subgraph.OperatorsLength()):
        op = subgraph.Operators(op_index)
        for position in range(op.OutputsLength()):
            tensor_index = op.Outputs(position)
            tensor = subgraph.Tensors(tensor_index)
            shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
            named = _named_nodes(tensor.Name().decode(), position, nodes_of)
            if returned.get(tensor_index):
                named.append(returned[tensor_index])
            candidates = [n for n in named if n in node_shapes and node_shapes[n] == shape]
            if not candidates:
                continue
            node = max(candidates, key=order.__getitem__)
            raw = interpreter.get_tensor(tensor_index, subgraph_index)
            found[node] = _real_value(raw, tensor.Quantization())
    return found


def _nodes_by_tf_output(node_tf_names: dict[str, str],
                        order: dict[str, int]) -> dict[tuple[str, int], list[str]]:
    """(TF op name, output index) → the nodes whose value that TF output is."""
    nodes_of: dict[tuple[str, int], list[str]] = {}
    for node, tf_name in node_tf_names.items():
        if node not in order:
            continue
        match = _OUTPUT_INDEX.search(tf_name)
        op, index = (tf_name[:match.start()], int(match.group(1))) if match else (tf_name, 0)
        nodes_of.setdefault((op, index), []).append(node)
    return nodes_of


def _named_nodes(tensor_name: str, position: int,
                 nodes_of: dict[tuple[str, int], list[str]]) -> list[str]:
    pieces = [_OUTPUT_INDEX.sub("", piece) for piece in tensor_name.split(";")]
    named = []
    for i, piece in enumerate(pieces):
        nodes = nodes_of.get((piece, position))
        if nodes is None and i == len(pieces) - 1:  # a digit TF appended for uniqueness
            nodes = nodes_of.get((piece.rstrip("0123456789"), position))
        named += nodes or []
    return named


def _real_value(raw: np.ndarray, quantization) -> PreservedTensor:
    scales = quantization.ScaleAsNumpy() if quantization is not None \
        and not quantization.ScaleIsNone() else None
    if scales is None or raw.dtype.kind not in "iu" or not np.any(scales):
        return PreservedTensor(np.array(raw), quantized=False)
    zero_points = quantization.ZeroPointAsNumpy()
    if scales.size > 1:  # per-channel: broadcast along the quantized dimension
        shape = [1] * raw.ndim
        shape[quantization.QuantizedDimension()] = scales.size
        scales, zero_points = scales.reshape(shape), zero_points.reshape(shape)
    real = (raw.astype(np.float64) - zero_points) * scales
    return PreservedTensor(real.astype(np.float32), quantized=True)
