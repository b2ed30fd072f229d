"""The float model a quantized job is timed against, converted once per run root.

A sweep over quantization configs of one model (or a nightly with several quantized
jobs of it) would otherwise convert the same float model once per job. The float model
is a function of the job's config without its `quant` part, of the files it reads and of
the tool versions — `job_key` of that config — so it is kept under `paths.root` by that
key. Files are written whole and renamed into place: a concurrent job reads a complete
model or none; two jobs that miss at once both convert and write the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from edgebatch.batch.job_key import job_key

CACHE_DIR = "float_models"  # under paths.root
_NOT_IN_FLOAT_MODEL = ("quant", "artifact_name")


def float_model_key(config: dict) -> str:
    return job_key({k: v for k, v in config.items() if k not in _NOT_IN_FLOAT_MODEL})


def cached_float_model(root: Path, config: dict, convert: Callable[[], bytes]) -> tuple[bytes, bool]:
    """(flatbuffer, True if it came from the cache); `convert` makes it on a miss."""
    path = root / CACHE_DIR / f"{float_model_key(config)}.tflite"
    try:
        return path.read_bytes(), True
    except FileNotFoundError:
        pass
    flatbuffer = convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_bytes(flatbuffer)
    os.replace(partial, path)
    return flatbuffer, False
