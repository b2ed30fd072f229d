"""Lowered signatures → TensorFlow's TFLite converter → flatbuffer bytes."""

from __future__ import annotations

import re
from typing import Any

from edgebatch._convert.buffer_layout import canonical_buffer_layout
from edgebatch._convert.sequence_lstm_clip import without_lstm_cell_clip
from edgebatch._imports import tensorflow
from edgebatch.errors import ConversionError

tf = tensorflow()
from tensorflow.lite.python import lite as _lite  # noqa: E402  after tensorflow()

_INTERESTING = re.compile(r"error|not supported|unsupported|failed|illegal|'tf\.|'tfl\.", re.I)


def _set_flag(target: Any, name: str, value: Any) -> None:
    """Nested dicts set nested attributes: {'target_spec': {'supported_ops': [...]}}."""
    if isinstance(value, dict):
        child = getattr(target, name)
        for key, sub in value.items():
            _set_flag(child, key, sub)
    else:
        setattr(target, name, value)


def uses_select_tf_ops(flags: dict | None) -> bool:
    ops = ((flags or {}).get("target_spec") or {}).get("supported_ops") or []
    return tf.lite.OpsSet.SELECT_TF_OPS in ops


def condense(message: str, limit: int = 12) -> str:
    """Keep the lines of a converter error that name ops and causes."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    keep = [line for line in lines if _INTERESTING.search(line)] or lines
    unique = list(dict.fromkeys(keep))
    return "\n".join(unique[:limit])


class _SavedModelConverter(_lite.TFLiteFrozenGraphConverterV2):
    """TF's converter for concrete functions, without reloading the SavedModel it writes.

    TF's own path saves the functions as a SavedModel, then restores every variable
    from it into a second set of objects (`_load`) only to read the graph's debug
    info, which the functions themselves carry. That restore is a full copy of the
    weights in memory (+165 MB peak on convnext_tiny) and ~0.7 s; the converter then
    reads the SavedModel from disk either way, so the flatbuffer is byte-identical.
    Tied to TensorFlow's private converter API: tests/convert/test_tflite_converter.py
    fails on a TensorFlow whose converter no longer has this hook.
    """

    def _convert_concrete_functions_to_saved_model(self, output_dir):
        if len(self._funcs) == 1:
            signatures = {tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY: self._funcs[0]}
        else:
            signatures = {func.graph.name: func for func in self._funcs}
        try:
            tf.saved_model.save(self._trackable_obj, output_dir, signatures=signatures)
        except Exception:  # as TF's own path: fall back to converting a frozen graph
            return None, None, None
        self.saved_model_dir = output_dir
        self._saved_model_tags = {tf.saved_model.SERVING}
        self._saved_model_exported_names = list(signatures)
        self._parse_saved_model_args(always_enable_saved_model_import=True)
        self._trackable_obj = None  # debug info then comes from the functions' graphs
        return self._load_saved_model(output_dir, self._saved_model_tags)


def convert_functions(functions: list, trackable, flags: dict | None = None) -> bytes:
    converter = _SavedModelConverter(functions, trackable)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter._experimental_use_buffer_offset = True
    for name, value in (flags or {}).items():
        _set_flag(converter, name, value)
    try:
        flatbuffer = converter.convert()
    except Exception as exc:
        raise ConversionError(
            "TensorFlow's TFLite converter failed:\n" + condense(str(exc))
            + "\nIf an op above is not a TFLite built-in, file the ATen op it came from; "
            "SELECT_TF_OPS (Flex) can be enabled through _ai_edge_converter_flags."
        ) from exc
    return flatbuffer


def canonical_flatbuffer(flatbuffer: bytes) -> bytes:
    """TF's converter output with our fixes: PyTorch's LSTM semantics, deterministic layout."""
    return canonical_buffer_layout(without_lstm_cell_clip(flatbuffer))
