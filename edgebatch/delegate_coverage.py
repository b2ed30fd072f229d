"""Which ops the XNNPACK delegate leaves to LiteRT's own kernels, and in how many parts it
takes the rest.

After `allocate_tensors`, LiteRT's node list holds the model's ops followed by one
DELEGATE node per partition; a partition's ops are the ones between its inputs and its
outputs (found walking back from the outputs). Every other op runs on LiteRT's CPU
kernels, and each one between two partitions costs a round trip out of XNNPACK.

LiteRT's Python API does not say why XNNPACK refused an op; `form` says what the
flatbuffer shows about it instead (hybrid: int8 weights with float activations; the
activation types otherwise), which is the usual reason for quantized models.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass
class NotDelegated:
    op: str
    form: str  # "hybrid (int8 weights, float32 activations)", "int8", "float32", ...
    count: int


@dataclass
class DelegateCoverage:
    partitions: int
    delegated_ops: int
    not_delegated: list[NotDelegated] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def delegate_coverage(flatbuffer: bytes) -> DelegateCoverage:
    """XNNPACK's coverage of the model's primary subgraph, as this machine's LiteRT
    (default delegates, one thread) applies it."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer, num_threads=1)
    interpreter.allocate_tensors()
    nodes = interpreter._get_ops_details()
    ops = [n for n in nodes if n["op_name"] != "DELEGATE"]
    delegates = [n for n in nodes if n["op_name"] == "DELEGATE"]
    delegated = _delegated_ops(ops, delegates)
    tensors = _tensor_kinds(flatbuffer)
    counts = Counter((op["op_name"], _form(op, tensors)) for op in ops
                     if op["index"] not in delegated)
    return DelegateCoverage(
        partitions=len(delegates), delegated_ops=len(delegated),
        not_delegated=[NotDelegated(op, form, n) for (op, form), n in counts.most_common()],
    )


def _delegated_ops(ops: list[dict], delegates: list[dict]) -> set[int]:
    producer = {int(t): op for op in ops for t in op["outputs"]}
    inside: set[int] = set()
    for delegate in delegates:
        boundary = {int(t) for t in delegate["inputs"]}
        pending = [int(t) for t in delegate["outputs"]]
        while pending:
            tensor = pending.pop()
            op = producer.get(tensor)
            if tensor in boundary or op is None or op["index"] in inside:
                continue
            inside.add(op["index"])
            pending += [int(t) for t in op["inputs"] if t >= 0]
    return inside


def _tensor_kinds(flatbuffer: bytes) -> dict[int, tuple[str, bool]]:
    """Tensor index of the primary subgraph → (type name, is a constant)."""
    from ai_edge_litert import schema_py_generated as schema

    from edgebatch.flatbuffer_summary import TYPE_NAMES, is_constant

    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)
    return {t: (TYPE_NAMES.get(graph.Tensors(t).Type(), "?"), is_constant(model, graph.Tensors(t)))
            for t in range(graph.TensorsLength())}


def _form(op: dict, tensors: dict[int, tuple[str, bool]]) -> str:
    inputs = [tensors[int(t)] for t in op["inputs"] if 0 <= t < len(tensors)]
    activations = sorted({dtype for dtype, constant in inputs if not constant})
    if ("int8", True) in inputs and "float32" in activations:
        return "hybrid (int8 weights, float32 activations)"
    return "/".join(activations) or "constants only"
