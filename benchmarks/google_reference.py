"""Make reference .tflite files with Google's converter for interleaved A/B timing.

Run it with a *separate* venv that has `litert-torch==0.10.0` (never a dependency of
edgebatch), from the repository root so model_zoo builds the very same models:

    python3.11 -m venv /tmp/gvenv
    /tmp/gvenv/bin/pip install torch==2.14.1 torchvision==0.29.1 torchaudio==2.11.0 litert-torch==0.10.0
    PYTHONPATH=. /tmp/gvenv/bin/python benchmarks/google_reference.py outputs/google
    .venv/bin/python benchmarks/run.py --compare outputs/google
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import litert_torch
import torch  # noqa: F401

import model_zoo
from benchmarks.run import DEFAULT_MODELS


def main(out_dir: str, models: list[str]) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in models or DEFAULT_MODELS:
        module, inputs = model_zoo.build(f"torchvision/{name}")
        start = time.perf_counter()
        litert_torch.convert(module, inputs).export(str(out / f"{name}.tflite"))
        seconds = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"model": name, "convert_s": round(seconds, 2), "peak_rss_mb": round(peak_mb)}),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
