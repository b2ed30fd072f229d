"""An exported FX graph becomes a TensorFlow concrete function.

Parameters, buffers and lifted constants become `tf.Variable`s owned by one
WeightStore per conversion: signatures over the same module capture the same
variables, so the flatbuffer stores each weight once. (Variables, not
`tf.constant`s, keep TF's converter fast and small in memory on big models.)
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field

import torch
from torch.export.graph_signature import InputKind, OutputKind

from edgebatch._imports import tensorflow
from edgebatch._convert import dtypes
from edgebatch._convert.lowerings import lookup
from edgebatch._convert.lowerings.registry import LoweringContext, op_name
from edgebatch._convert.program_state import input_placeholders, state_tensor
from edgebatch._convert.source import user_source_line
from edgebatch.errors import LoweringError, UnsupportedOpError

tf = tensorflow()

_SCOPE_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/]")


def scope_name(name: str) -> str:
    """A valid TF name scope / variable name (must not start with '_')."""
    name = _SCOPE_UNSAFE.sub("_", name)
    return name if name[:1].isalnum() else "n" + name


class WeightStore:
    """tf.Variables for torch tensors, deduplicated by storage so signatures share them.

    `trackable` owns the variables for TF's converter; the dedupe map stays outside it
    because a trackable cannot hold a dict keyed by tuples.
    """

    def __init__(self):
        self.trackable = tf.Module(name="edgebatch_weights")
        self.trackable.weights = []
        self._by_key: dict[tuple, tf.Variable] = {}
        # the keyed tensors stay referenced: a freed storage's address could be reused by a
        # tensor a pass creates for the next signature, which would then get this variable
        self._keyed_tensors: list[torch.Tensor] = []

    @staticmethod
    def _key(tensor: torch.Tensor) -> tuple:
        return (
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
            tuple(tensor.stride()),
            tensor.dtype,
        )

    def variable(self, name: str, tensor: torch.Tensor) -> tf.Variable:
        key = self._key(tensor)
        if key not in self._by_key:
            var = tf.Variable(dtypes.to_tensorflow(tensor), trainable=False,
                              name=scope_name(name))
            self._by_key[key] = var
            self._keyed_tensors.append(tensor)
            self.trackable.weights.append(var)
        return self._by_key[key]


@dataclass
class LoweredSignature:
    """One signature's TF function and what maps it back to the FX graph."""

    name: str
    function: object  # tf ConcreteFunction
    input_names: list[str]
    output_names: list[str]
    node_to_tf_name: dict[str, str] = field(default_factory=dict)
    # FX node -> the module paths it was called in, outermost first (nn_module_stack)
    node_modules: dict[str, list[str]] = field(default_factory=dict)
    output_nodes: dict[str, str] = field(default_factory=dict)  # output name -> FX node


def _input_spec(val, name: str):
    shape = [d if isinstance(d, int) else None for d in val.shape]
    return tf.TensorSpec(shape, dtypes.tf_dtype(val.dtype), name=name)


def lower_program(
    program: torch.export.ExportedProgram,
    signature_name: str,
    input_names: list[str],
    output_names: list[str],
    weights: WeightStore,
) -> LoweredSignature:
    """Lower `program` into one concrete function named after the signature."""
    graph = program.graph_module.graph
    user_nodes, constant_inputs, state_nodes = [], {}, {}
    for node, spec in input_placeholders(program):
        if spec.kind == InputKind.USER_INPUT:
            if isinstance(node.meta.get("val"), torch.Tensor):
                user_nodes.append(node)
            else:  # a specialised non-tensor input: torch.export baked its value in
                constant_inputs[node] = node.meta.get("val")
        else:
            state_nodes[node] = weights.variable(spec.target, state_tensor(program, spec))
    if len(user_nodes) != len(input_names):
        raise LoweringError(
            f"signature '{signature_name}' has {len(user_nodes)} tensor inputs "
            f"but {len(input_names)} input names"
        )
    tensor_specs = [_input_spec(n.meta["val"], name) for n, name in zip(user_nodes, input_names)]
    output_node = next(n for n in reversed(graph.nodes) if n.op == "output")
    user_outputs = [
        out
        for out, spec in zip(output_node.args[0], program.graph_signature.output_specs)
        if spec.kind == OutputKind.USER_OUTPUT
    ]
    node_to_tf_name: dict[str, str] = {}
    node_modules: dict[str, list[str]] = {}
    output_nodes = {name: out.name for name, out in zip(
        output_names, (o for o in user_outputs if o is not None)) if isinstance(out, torch.fx.Node)}

    def body(*inputs):
        env: dict[torch.fx.Node, object] = dict(state_nodes)
        env.update(constant_inputs)
        env.update(zip(user_nodes, inputs))
        for node in graph.nodes:
            if node.op != "call_function":
                continue
            with tf.name_scope(scope_name(node.name)):
                value = _lower_node(node, env)
            env[node] = value
            if isinstance(value, (tf.Tensor, tf.Variable)):
                node_to_tf_name[node.name] = value.name
                stack = node.meta.get("nn_module_stack") or {}
                node_modules[node.name] = [path for path, _ in stack.values()]
        results = {}
        for name, out in zip(output_names, (o for o in user_outputs if o is not None)):
            value = env[out] if isinstance(out, torch.fx.Node) else out
            results[name] = tf.identity(tf.convert_to_tensor(value), name=scope_name(name))
        return results

    body.__name__ = scope_name(signature_name)
    function = tf.function(body, input_signature=tensor_specs, autograph=False)
    concrete = function.get_concrete_function()
    return LoweredSignature(signature_name, concrete, input_names, output_names, node_to_tf_name,
                            node_modules, output_nodes)


def _lower_node(node: torch.fx.Node, env: dict):
    if node.target is operator.getitem:
        container, index = node.args
        return env[container][index]
    lowering = lookup(node.target)
    if lowering is None:
        raise UnsupportedOpError(op_name(node.target), user_source_line(node), node.name)
    args = torch.fx.node.map_arg(node.args, env.__getitem__)
    kwargs = torch.fx.node.map_arg(node.kwargs, env.__getitem__)
    try:
        return lowering(LoweringContext(node), *args, **kwargs)
    except UnsupportedOpError:
        raise
    except Exception as exc:
        where = user_source_line(node)
        raise LoweringError(
            f"lowering {op_name(node.target)} (node '{node.name}'"
            f"{', ' + where if where else ''}) failed: {type(exc).__name__}: {exc}"
        ) from exc
