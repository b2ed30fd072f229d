"""Per-op microbenchmark behind edgebatch/quantize/hybrid_kernels.json.

For each op kind that dynamic-range quantization makes hybrid, a few one-op models of
shapes taken from the benchmark zoo (mobilenet_v2, resnet18, vit_b_16) are converted with
the `drq` preset twice: hybrid kernel (hybrid_kernels="all") and float kernel on the
dequantized int8 weight ("none"). Both files are timed interleaved with the LiteRT
interpreter (XNNPACK) at 1 and 2 threads; the table is written for the converter to read.

    python benchmarks/hybrid_kernels.py            # rewrites the table
    python benchmarks/hybrid_kernels.py --runs 60 --out /tmp/table.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import tempfile
from pathlib import Path

import torch  # before tensorflow (edgebatch/_imports.py)

from benchmarks.run import latencies

THREADS = (1, 2)

# kind → [(label, module, input shape)]
SHAPES = {
    "CONV_2D 1x1": [
        ("96→24 @56x56", lambda: torch.nn.Conv2d(96, 24, 1), (1, 96, 56, 56)),
        ("384→64 @14x14", lambda: torch.nn.Conv2d(384, 64, 1), (1, 384, 14, 14)),
        ("320→1280 @7x7", lambda: torch.nn.Conv2d(320, 1280, 1), (1, 320, 7, 7)),
    ],
    "CONV_2D": [
        ("3x3 64→64 @56x56", lambda: torch.nn.Conv2d(64, 64, 3, padding=1), (1, 64, 56, 56)),
        ("3x3 256→256 @14x14", lambda: torch.nn.Conv2d(256, 256, 3, padding=1),
         (1, 256, 14, 14)),
    ],
    "DEPTHWISE_CONV_2D": [
        ("3x3 144 @56x56", lambda: torch.nn.Conv2d(144, 144, 3, padding=1, groups=144),
         (1, 144, 56, 56)),
        ("3x3 576 @14x14", lambda: torch.nn.Conv2d(576, 576, 3, padding=1, groups=576),
         (1, 576, 14, 14)),
    ],
    "FULLY_CONNECTED": [
        ("1280→1000", lambda: torch.nn.Linear(1280, 1000), (1, 1280)),
        ("768→3072 x197", lambda: torch.nn.Linear(768, 3072), (197, 768)),
    ],
    "TRANSPOSE_CONV": [
        ("4x4/2 64→32 @28x28", lambda: torch.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),
         (1, 64, 28, 28)),
    ],
}


def convert_pair(module, shape, directory: Path, stem: str) -> tuple[Path, Path] | None:
    """The one-op model as hybrid and as dequantize + float; None if drq leaves it float."""
    import edgebatch
    from edgebatch.quantize.quant_config import QuantConfig

    torch.manual_seed(0)
    module = module().eval()
    args = (torch.randn(shape),)
    paths = []
    for policy in ("all", "none"):
        model = edgebatch.convert(module, args, quant_config=QuantConfig(
            preset="drq", hybrid_kernels=policy))
        if not model.report["hybrid_kernels"]:
            return None
        paths.append(model.export(directory / f"{stem}_{policy}.tflite"))
    return paths[0], paths[1]


def measure(runs: int) -> dict:
    kinds: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, shapes in SHAPES.items():
            for i, (label, module, shape) in enumerate(shapes):
                pair = convert_pair(module, shape, Path(tmp), f"{kind.replace(' ', '_')}_{i}")
                if pair is None:
                    print(f"{kind} {label}: drq leaves it float; not in the table")
                    continue
                row = {"shape": label, "hybrid_ms": {}, "float_ms": {}}
                for threads in THREADS:
                    hybrid, dequantized = latencies(list(pair), threads, runs)
                    row["hybrid_ms"][str(threads)] = round(hybrid, 4)
                    row["float_ms"][str(threads)] = round(dequantized, 4)
                kinds.setdefault(kind, []).append(row)
                print(f"{kind:18} {label:22} " + "  ".join(
                    f"{t}t hybrid {row['hybrid_ms'][str(t)]:.3f} ms / float "
                    f"{row['float_ms'][str(t)]:.3f} ms" for t in THREADS), flush=True)
    return {
        "what": "median ms of one-op drq models: hybrid kernel vs DEQUANTIZE + float kernel, "
                "LiteRT interpreter with XNNPACK, interleaved runs",
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "date": datetime.date.today().isoformat(),
        "runs": runs,
        "threads": list(THREADS),
        "kinds": kinds,
    }


def main(argv: list[str] | None = None) -> int:
    from edgebatch.quantize.hybrid_kernels import TABLE_PATH, hybrid_is_faster

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--out", type=Path, default=TABLE_PATH)
    args = parser.parse_args(argv)
    table = measure(args.runs)
    args.out.write_text(json.dumps(table, indent=1) + "\n")
    print(f"\n{args.out}:")
    for kind in table["kinds"]:
        print(f"  {kind}: {'hybrid' if hybrid_is_faster(kind, table) else 'dequantize + float'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
