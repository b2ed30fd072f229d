"""`make demo`: convert resnet18 through the Python API, validate it, write the .tflite."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torchvision

import edgebatch
from edgebatch.inspect import summarize


def main(out_dir: str = "outputs/demo") -> int:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    sample = (torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1234)),)
    start = time.perf_counter()
    converted = edgebatch.convert(model, sample)
    seconds = time.perf_counter() - start
    path = converted.export(Path(out_dir) / "resnet18.tflite")
    with torch.no_grad():
        expected = model(*sample).numpy()
    actual = converted(*sample)
    error = float(np.abs(actual - expected).max())
    ok = bool(np.allclose(expected, actual, atol=1e-5))
    summary = summarize(converted.flatbuffer)
    print(f"resnet18 → {path} ({summary.size_bytes / 1e6:.1f} MB, {summary.num_ops} ops, "
          f"{summary.transposes} TRANSPOSE) in {seconds:.1f} s")
    print(f"validation: max abs error {error:.2e} vs max |ref| {np.abs(expected).max():.2f} "
          f"→ {'PASS' if ok else 'FAIL'} (allclose atol=1e-5)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
