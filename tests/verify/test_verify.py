"""edgebatch.load verifies a .tflite file before LiteRT reads it, and fails typed.

Each corruption below is one that LiteRT's own flatbuffer check lets through and that
crashes the process (or that LiteRT reads as garbage); each must come out as a
ModelLoadError naming what is wrong.
"""

import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from ai_edge_litert import schema_py_generated as schema

import edgebatch
from edgebatch.errors import ModelLoadError
from edgebatch.verify import schema as schema_layout
from edgebatch.verify import verify_model


def field_position(table, slot: int) -> int:
    """Byte position of a present field of a table read with the generated readers."""
    offset = table._tab.Offset(4 + 2 * slot)
    assert offset, f"field {slot} is absent"
    return table._tab.Pos + offset


def vector_start(table, slot: int) -> int:
    return table._tab.Vector(table._tab.Offset(4 + 2 * slot))


def patched(data: bytes, position: int, fmt: str, value) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, position, value)
    return bytes(out)


def load_error(tmp_path, data: bytes) -> str:
    path = tmp_path / "damaged.tflite"
    path.write_bytes(data)
    with pytest.raises(ModelLoadError) as info:
        edgebatch.load(path)
    assert isinstance(info.value, ValueError)
    return str(info.value).splitlines()[0]


def root(data: bytes):
    return schema.Model.GetRootAs(data, 0)


def test_valid_models_pass(small_models, tmp_path):
    encoder = torch.nn.Linear(8, 8).eval()
    small_models = {**small_models, "two_signatures": edgebatch.signature(
        "one", encoder, (torch.randn(1, 8),)).signature("four", encoder, (torch.randn(4, 8),))
        .convert()}
    for name, model in small_models.items():
        verify_model(model.flatbuffer, name)
        loaded = edgebatch.load(model.export(tmp_path / f"{name}.tflite"))
        assert loaded.signature_names() == model.signature_names()


def test_tensor_with_a_buffer_index_out_of_range(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    tensor = root(data).Subgraphs(0).Tensors(3)
    message = load_error(tmp_path, patched(data, field_position(tensor, 2), "<I", 9999))
    buffers = root(data).BuffersLength()
    assert message == (f"{tmp_path / 'damaged.tflite'} is a damaged TFLite model (subgraph 0 "
                       f"tensor 3 refers to buffer 9999, but there are {buffers}); convert or "
                       "download it again")


def test_weights_outside_the_file(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    model = root(data)
    index = next(i for i in range(model.BuffersLength()) if model.Buffers(i).Offset() > 1)
    buffer = model.Buffers(index)
    message = load_error(tmp_path, patched(data, field_position(buffer, 2), "<Q", len(data)))
    assert f"(buffer {index} spans bytes {buffer.Offset()}..{buffer.Offset() + len(data)} of a " \
           f"{len(data)}-byte file)" in message


def test_constant_buffer_shorter_than_its_tensor(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    model = root(data)
    weight = model.Subgraphs(0).Tensors(3)  # the 4x3x3x3 convolution weight
    buffer = model.Buffers(weight.Buffer())
    message = load_error(tmp_path, patched(data, field_position(buffer, 2), "<Q", 16))
    assert "tensor 3 (float32 [4, 3, 3, 3]) needs 432 bytes, its buffer holds 16" in message


def test_negative_dimension(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    tensor = root(data).Subgraphs(0).Tensors(0)
    message = load_error(tmp_path, patched(data, vector_start(tensor, 0) + 4, "<i", -5))
    assert "(subgraph 0 tensor 0 has the negative shape [1, -5, 8, 8])" in message


def test_required_operator_input_left_out(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    operator = root(data).Subgraphs(0).Operators(1)
    message = load_error(tmp_path, patched(data, vector_start(operator, 1), "<i", -1))
    assert "(subgraph 0 operator 1 (CONV_2D) leaves out its input 0, which it needs)" in message


def test_operator_code_out_of_range(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    operator = root(data).Subgraphs(0).Operators(1)
    message = load_error(tmp_path, patched(data, field_position(operator, 0), "<I", 200))
    assert "(subgraph 0 operator 1 refers to operator code 200, but there are " in message


def test_zero_point_outside_the_int8_range(small_models, tmp_path):
    data = small_models["int8_cnn"].flatbuffer
    graph = root(data).Subgraphs(0)
    t = next(t for t in range(graph.TensorsLength())
             if graph.Tensors(t).Type() == schema.TensorType.INT8
             and graph.Tensors(t).Quantization().ZeroPointLength() == 1)
    zero_points = vector_start(graph.Tensors(t).Quantization(), 3)
    message = load_error(tmp_path, patched(data, zero_points, "<q", 1000))
    assert f"tensor {t} has a zero point outside the int8 range -128..127" in message


def test_signature_name_that_is_not_utf8(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    name = vector_start(root(data).SignatureDefs(0), 2)
    message = load_error(tmp_path, patched(data, name, "<B", 0xFF))
    assert "Model.SignatureDefs[0].SignatureKey: string is not UTF-8" in message


def test_vtable_outside_the_buffer(small_models, tmp_path):
    data = small_models["cnn"].flatbuffer
    model_table = struct.unpack_from("<I", data, 0)[0]
    message = load_error(tmp_path, patched(data, model_table, "<i", -len(data)))
    assert "Model: Model vtable at byte" in message and "lies outside the" in message


def test_node_only_xnnpack_would_crash_on(small_models, tmp_path):
    """A CONV_2D turned into SPLIT keeps its three inputs: LiteRT's SPLIT kernel refuses
    that, but the XNNPACK delegate, applied first, crashes on it."""
    data = small_models["cnn"].flatbuffer
    code = root(data).OperatorCodes(root(data).Subgraphs(0).Operators(1).OpcodeIndex())
    assert code.BuiltinCode() == schema.BuiltinOperator.CONV_2D
    data = patched(data, field_position(code, 0), "<b", schema.BuiltinOperator.SPLIT)
    data = patched(data, field_position(code, 3), "<i", schema.BuiltinOperator.SPLIT)
    message = load_error(tmp_path, data)
    assert message.startswith(f"LiteRT could not load {tmp_path / 'damaged.tflite'}: ")
    assert "(SPLIT) failed to prepare" in message


def test_shape_that_grows_past_the_limit_in_litert(small_models, tmp_path):
    """The input's declared size passes (960 MB); the hidden layer LiteRT derives from it
    (twice as wide) does not."""
    data = small_models["dynamic_mlp"].flatbuffer
    tensor = root(data).Subgraphs(0).Tensors(0)
    assert tensor.ShapeSignatureAsNumpy().tolist() == [-1, 8]
    message = load_error(tmp_path, patched(data, vector_start(tensor, 0), "<i", 30_000_000))
    assert "grows to shape [30000000, 16] in LiteRT, 1920000000 bytes)" in message


def test_verifier_does_not_import_tensorflow(small_models, tmp_path):
    path = small_models["cnn"].export(tmp_path / "cnn.tflite")
    script = textwrap.dedent(f"""
        import sys
        from edgebatch.verify import verify_model
        verify_model(open({str(path)!r}, "rb").read())
        assert "tensorflow" not in sys.modules, "the verifier imported tensorflow"
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_loaded_model_runs(small_models, tmp_path):
    model = small_models["dynamic_mlp"]
    loaded = edgebatch.load(model.export(tmp_path / "mlp.tflite"))
    x = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x), model(x))


def test_schema_layout_covers_every_table():
    """The layouts are read off ai_edge_litert's generated readers: every table reachable
    from Model must have one (a new schema that breaks the probe fails here, not in load)."""
    seen, pending = set(), [schema_layout.ROOT_TABLE]
    while pending:
        table = pending.pop()
        if table in seen:
            continue
        seen.add(table)
        for field in schema_layout.table_fields(table):
            if field.table:
                pending.append(field.table)
            if field.union:
                pending.extend(schema_layout.union_members(field.union).values())
    assert {"SubGraph", "Tensor", "Operator", "Conv2DOptions", "WhileOptions"} <= seen
    buffer_field = {f.name: f for f in schema_layout.table_fields("Tensor")}["Buffer"]
    assert (buffer_field.slot, buffer_field.kind, buffer_field.size) == (2, "scalar", 4)
