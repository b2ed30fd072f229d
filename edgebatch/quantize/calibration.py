"""Activation ranges for the `int8` preset that minimise quantization error.

TF's calibrator records each activation's plain min/max over the representative dataset,
so one outlier widens a tensor's range and coarsens its steps for every other value.
PT2E's HistogramObserver instead picks the range with the least quantization error. Here
the `int8` preset gets the same: TF's converter stops after calibration
(`_experimental_calibrate_only`), every calibrated activation is re-ranged by a search
for the [min, max] with the least squared quantize-dequantize error over the calibration
values, and TF's own quantizer (`mlir_quantize`) then builds the int8 model.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from edgebatch._imports import tensorflow

tf = tensorflow()
from tensorflow.lite.python import schema_py_generated as schema  # noqa: E402
from tensorflow.lite.python.convert import mlir_quantize  # noqa: E402

from edgebatch.quantize.flatbuffer import pack, read  # noqa: E402

_SAMPLE = 1 << 16  # values per tensor used for the range search
_SHRINK = np.linspace(0.35, 1.0, 27)


def quantize_calibrated(calibrated: bytes, dataset: Callable, *, int8_io: bool = False,
                        denylisted_ops=(), denylisted_nodes=()) -> bytes:
    """Refine the calibrated activation ranges, then quantize with TF's MLIR quantizer;
    the ops of the `denylisted_ops` types and those whose output tensor is named in
    `denylisted_nodes` stay float (edgebatch/quantize/keep_float.py)."""
    refined = refine_ranges(calibrated, dataset)
    io = tf.int8 if int8_io else tf.float32
    return mlir_quantize(refined, input_data_type=io, output_data_type=io,
                         denylisted_ops=list(denylisted_ops) or None,
                         denylisted_nodes=list(denylisted_nodes) or None)


def refine_ranges(calibrated: bytes, dataset: Callable) -> bytes:
    model = read(calibrated)
    values = _collect(calibrated, dataset)
    changed = False
    for g, graph in enumerate(model.subgraphs):
        for t, tensor in enumerate(graph.tensors):
            q = tensor.quantization
            if q is None or q.min is None or q.max is None or len(q.min) != 1:
                continue
            sample = values.get((g, t))
            if sample is None or sample.size == 0:
                continue
            lo, hi = best_range(sample, float(q.min[0]), float(q.max[0]))
            q.min, q.max = np.array([lo], np.float32), np.array([hi], np.float32)
            changed = True
    return pack(model, size_hint=len(calibrated)) if changed else calibrated


def best_range(values: np.ndarray, lo: float, hi: float, levels: int = 255) -> tuple[float, float]:
    """The [lo', hi'] (shrunk from [lo, hi], zero kept inside) with the least squared
    error of 8-bit quantize-dequantize over `values`."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        return lo, hi

    def error(a: float, b: float) -> float:
        l, h = lo * a, hi * b
        scale = (h - l) / levels
        zero = np.round(-l / scale)
        q = np.clip(np.round(values / scale) + zero, 0, levels)
        return float(np.sum(((q - zero) * scale - values) ** 2))

    # coordinate descent over the two shrink factors (a full grid costs 10x more, same result)
    a = b = 1.0
    for _ in range(2):
        if hi > 0:
            b = min(_SHRINK, key=lambda x: error(a, x))
        if lo < 0:
            a = min(_SHRINK, key=lambda x: error(x, b))
    return lo * a, hi * b


def _collect(calibrated: bytes, dataset: Callable) -> dict[tuple[int, int], np.ndarray]:
    """Values of every float activation over the dataset (a random sample per tensor)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True)
    signatures = interpreter.get_signature_list()
    wanted = _ranged_tensors(calibrated)
    rng = np.random.default_rng(0)
    chunks: dict[tuple[int, int], list[np.ndarray]] = {}
    for sample in dataset():
        key, feeds = _split(sample, signatures)
        if isinstance(feeds, dict):
            runner = interpreter.get_signature_runner(key)
            runner(**{k: np.asarray(v) for k, v in feeds.items()})
            subgraph = list(signatures).index(key) if key in signatures else 0
        else:
            for detail, value in zip(interpreter.get_input_details(), feeds):
                interpreter.resize_tensor_input(detail["index"], np.shape(value))
            interpreter.allocate_tensors()
            for detail, value in zip(interpreter.get_input_details(), feeds):
                interpreter.set_tensor(detail["index"], np.asarray(value, detail["dtype"]))
            interpreter.invoke()
            subgraph = 0
        for g, t in wanted:
            if g != subgraph:
                continue
            try:
                value = interpreter.get_tensor(t, g) if g else interpreter.get_tensor(t)
            except (ValueError, TypeError):
                continue
            flat = np.asarray(value, np.float32).ravel()
            if flat.size > _SAMPLE:
                flat = rng.choice(flat, _SAMPLE, replace=False)
            chunks.setdefault((g, t), []).append(flat)
    values = {}
    for key, parts in chunks.items():
        joined = np.concatenate(parts)
        if joined.size > 2 * _SAMPLE:
            joined = rng.choice(joined, 2 * _SAMPLE, replace=False)
        values[key] = joined
    return values


def _ranged_tensors(calibrated: bytes) -> list[tuple[int, int]]:
    model = schema.Model.GetRootAsModel(calibrated, 0)
    found = []
    for g in range(model.SubgraphsLength()):
        graph = model.Subgraphs(g)
        for t in range(graph.TensorsLength()):
            tensor = graph.Tensors(t)
            q = tensor.Quantization()
            if (tensor.Type() == schema.TensorType.FLOAT32 and q is not None
                    and q.MinLength() == 1 and q.MaxLength() == 1):
                found.append((g, t))
    return found


def _split(sample, signatures) -> tuple[Optional[str], object]:
    if isinstance(sample, tuple) and len(sample) == 2 and isinstance(sample[1], dict):
        return sample[0], sample[1]
    if isinstance(sample, dict):
        return (next(iter(signatures)) if signatures else None), sample
    return None, list(sample)
