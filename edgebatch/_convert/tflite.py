"""Lowered signatures → TensorFlow's TFLite converter → flatbuffer bytes."""

from __future__ import annotations

import re
from typing import Any

from edgebatch._convert.buffer_layout import canonical_buffer_layout
from edgebatch._convert.sequence_lstm_clip import without_lstm_cell_clip
from edgebatch._imports import tensorflow
from edgebatch.errors import ConversionError

tf = tensorflow()

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


def convert_functions(functions: list, trackable, flags: dict | None = None) -> bytes:
    converter = tf.lite.TFLiteConverter.from_concrete_functions(functions, trackable)
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
    return canonical_buffer_layout(without_lstm_cell_clip(flatbuffer))
