"""Latency of a converted model with the LiteRT interpreter (XNNPACK, its default CPU delegate).

One interpreter per thread count; `warmup` untimed calls, then `runs` timed calls of
the signature runner (interleaved with the float model's, for a quantized model) (the time includes copying the inputs in and the outputs out,
which is small next to inference for real models).
"""

from __future__ import annotations

import fcntl
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def exclusive(lock_path: Path | None):
    """Hold an exclusive lock on `lock_path` (None: no lock) while timing."""
    if lock_path is None:
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _feeds(runner, args: tuple, kwargs: dict) -> dict[str, np.ndarray]:
    from edgebatch._convert.signature import input_names_and_values

    details = runner.get_input_details()
    feeds = {}
    for name, value in input_names_and_values(args, kwargs):
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        feeds[name] = array.astype(details[name]["dtype"], copy=False)
    return feeds


SLOWER_THAN_FLOAT = 1.02  # latency ratio above which a quantized model is called slower


def benchmark(
    flatbuffer: bytes,
    signature: str,
    args: tuple,
    kwargs: dict,
    *,
    threads: list[int],
    warmup: int,
    runs: int,
    float_flatbuffer: bytes | None = None,
) -> dict:
    """{"signature", "delegate", "threads": {"1": {"median_ms", "p90_ms", "runs"}, ...},
    "warnings"}. With `float_flatbuffer` (the float model of a quantized one), both are
    timed run by run, interleaved, and each thread count also gets "float_median_ms" and
    "ratio_to_float"; a ratio above SLOWER_THAN_FLOAT becomes a warning."""
    from ai_edge_litert.interpreter import Interpreter

    models = [flatbuffer] + ([float_flatbuffer] if float_flatbuffer is not None else [])
    results, warnings = {}, []
    for n in threads:
        runners = [Interpreter(model_content=m, num_threads=int(n)).get_signature_runner(signature)
                   for m in models]
        feeds = [_feeds(runner, args, kwargs) for runner in runners]
        for runner, feed in zip(runners, feeds):
            for _ in range(warmup):
                runner(**feed)
        times: list[list[float]] = [[] for _ in models]
        for _ in range(runs):
            for runner, feed, samples in zip(runners, feeds, times):
                start = time.perf_counter()
                runner(**feed)
                samples.append((time.perf_counter() - start) * 1e3)
        entry = {
            "median_ms": statistics.median(times[0]),
            "p90_ms": float(np.percentile(times[0], 90)),
            "runs": runs,
        }
        if float_flatbuffer is not None:
            entry["float_median_ms"] = statistics.median(times[1])
            entry["ratio_to_float"] = entry["median_ms"] / entry["float_median_ms"]
            if entry["ratio_to_float"] > SLOWER_THAN_FLOAT:
                warnings.append(f"the quantized model takes {entry['ratio_to_float']:.2f}× the "
                                f"float model's time at {n} thread{'s' if int(n) > 1 else ''}")
        results[str(n)] = entry
    return {"signature": signature, "delegate": "XNNPACK (LiteRT default)", "threads": results,
            "warnings": warnings}
