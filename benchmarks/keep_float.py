"""Mixed precision by sensitivity: the int8 preset with keep_float auto:K.

For each K: mobilenet_v3_small (or the named torchvision models) converted with
QuantConfig(preset="int8", keep_float=f"auto:{K}"), calibrated on 4 seeded random batches
(seed 100, as benchmarks/quant.py); printed: the layers auto kept (most sensitive first,
with each one's eager fake-quant error), size, op kinds, cosine to float PyTorch over 4
seeded inputs (seed 7, overall and the worst input), conversion seconds.

    python benchmarks/keep_float.py                     # mobilenet_v3_small, K = 0 2 4
    python benchmarks/keep_float.py mobilenet_v2 --k 0 1 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

CALIBRATION_BATCHES = 4
VALIDATION_BATCHES = 4


def _batches(shape, count: int, seed: int):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(*shape, generator=generator),) for _ in range(count)]


def _cosine(a, b) -> float:
    a, b = np.ravel(a).astype(np.float64), np.ravel(b).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def run(name: str, ks: list[int]) -> list[dict]:
    import edgebatch
    import model_zoo
    from edgebatch.batch.quantization import op_kinds
    from edgebatch.quantize.quant_config import QuantConfig

    module, inputs = model_zoo.build(f"torchvision/{name}")
    shape = tuple(inputs[0].shape)
    calibration = _batches(shape, CALIBRATION_BATCHES, seed=100)
    validation = _batches(shape, VALIDATION_BATCHES, seed=7)
    with torch.no_grad():
        reference = [module(*args).numpy() for args in validation]
    rows = []
    for k in ks:
        config = QuantConfig(preset="int8", calibration_data=calibration, keep_float=f"auto:{k}")
        start = time.perf_counter()
        model = edgebatch.convert(module, inputs, quant_config=config)
        seconds = time.perf_counter() - start
        outputs = [np.asarray(model(*args)) for args in validation]
        cosines = [_cosine(r, o) for r, o in zip(reference, outputs)]
        rows.append({
            "model": name, "k": k, "kept": config.kept_float,
            "auto": [(layer, round(error, 5)) for layer, error in config.keep_float_auto or []],
            "size_mb": len(model.flatbuffer) / 1e6,
            "cosine": _cosine(np.concatenate([r.ravel() for r in reference]),
                              np.concatenate([o.ravel() for o in outputs])),
            "worst_cosine": min(cosines), "op_kinds": op_kinds(model.flatbuffer),
            "seconds": seconds,
        })
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=["mobilenet_v3_small"])
    parser.add_argument("--k", nargs="+", type=int, default=[0, 2, 4])
    args = parser.parse_args()
    rows = [row for name in args.models for row in run(name, args.k)]
    print("\n| model | keep_float | layers kept float (eager error quantized alone) | size MB "
          "| cosine | worst input | op kinds |")
    print("|---|---|---|---:|---:|---:|---|")
    for r in rows:
        kept = ", ".join(f"`{layer}` ({error:.2g})" for layer, error in r["auto"]) or "—"
        print(f"| {r['model']} | auto:{r['k']} | {kept} | {r['size_mb']:.2f} | {r['cosine']:.4f} "
              f"| {r['worst_cosine']:.4f} | {r['op_kinds']} |")


if __name__ == "__main__":
    main()
