"""Latency of a converted model with the LiteRT interpreter (XNNPACK, its default CPU delegate).

One interpreter per thread count; `warmup` untimed calls, then `runs` timed calls of
the signature runner (the time includes copying the inputs in and the outputs out,
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


def benchmark(
    flatbuffer: bytes,
    signature: str,
    args: tuple,
    kwargs: dict,
    *,
    threads: list[int],
    warmup: int,
    runs: int,
) -> dict:
    """{"signature", "delegate", "threads": {"1": {"median_ms", "p90_ms", "runs"}, ...}}."""
    from ai_edge_litert.interpreter import Interpreter

    results = {}
    for n in threads:
        interpreter = Interpreter(model_content=flatbuffer, num_threads=int(n))
        runner = interpreter.get_signature_runner(signature)
        feeds = _feeds(runner, args, kwargs)
        for _ in range(warmup):
            runner(**feeds)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            runner(**feeds)
            times.append((time.perf_counter() - start) * 1e3)
        results[str(n)] = {
            "median_ms": statistics.median(times),
            "p90_ms": float(np.percentile(times, 90)),
            "runs": runs,
        }
    return {"signature": signature, "delegate": "XNNPACK (LiteRT default)", "threads": results}
