"""Quantization benchmark: every mode of the benchmark models against fp32.

Each model is converted in every mode in its own subprocess (fp32, fp16, weight_only_int8,
drq, PT2E dynamic, int8 preset, PT2E static; `--before` adds drq and PT2E dynamic with
hybrid_kernels="all", the form before the measured kernel choice). Then all files of the
model are timed interleaved, run by run, with the LiteRT interpreter (XNNPACK) at 1 and 2
threads. Printed per model and mode: size and latency relative to fp32, cosine to float
PyTorch (seeded inputs), XNNPACK partitions and the ops it leaves to LiteRT's kernels.

    python benchmarks/quant.py                          # the nine models of benchmarks/run.py
    python benchmarks/quant.py mobilenet_v2 --before --runs 40
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from benchmarks.run import DEFAULT_MODELS, latencies

MODES = ["fp32", "fp16", "weight_only_int8", "drq", "pt2e_dynamic", "int8", "pt2e_static"]
BEFORE = ["drq_hybrid_all", "pt2e_dynamic_hybrid_all"]
CALIBRATION_BATCHES = 4
VALIDATION_BATCHES = 2


def _batches(shape, count: int, seed: int):
    import torch

    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(*shape, generator=generator),) for _ in range(count)]


def convert_modes(name: str, out_dir: Path, modes: list[str]) -> dict:
    """Runs in the child process: every mode of one model → out_dir/<model>_<mode>.tflite;
    returns {mode: cosine to float PyTorch}."""
    import numpy as np
    import torch

    import edgebatch
    import model_zoo
    from edgebatch.quantize.pt2e import pt2e_quantize
    from edgebatch.quantize.quant_config import QuantConfig

    module, inputs = model_zoo.build(f"torchvision/{name}")
    shape = tuple(inputs[0].shape)
    calibration = _batches(shape, CALIBRATION_BATCHES, seed=100)
    validation = _batches(shape, VALIDATION_BATCHES, seed=7)
    with torch.no_grad():
        reference = [_flat(module(*args)) for args in validation]
    cosines = {}
    for mode in modes:
        subject, config = module, None
        policy = "all" if mode.endswith("_hybrid_all") else "auto"
        base = mode.removesuffix("_hybrid_all")
        if base in ("fp16", "weight_only_int8", "drq"):
            config = QuantConfig(preset=base, hybrid_kernels=policy)
        elif base == "int8":
            config = QuantConfig(preset="int8", calibration_data=calibration)
        elif base.startswith("pt2e_"):
            dynamic = base == "pt2e_dynamic"
            subject, config = pt2e_quantize(module, inputs, is_dynamic=dynamic,
                                            calibration_data=calibration[:1] if dynamic
                                            else calibration)
            config.hybrid_kernels = policy
        model = edgebatch.convert(subject, inputs, quant_config=config)
        model.export(out_dir / f"{name}_{mode}.tflite")
        outputs = [_flat(model(*args)) for args in validation]
        ref, out = np.concatenate(reference), np.concatenate(outputs)
        cosines[mode] = float(ref @ out / (np.linalg.norm(ref) * np.linalg.norm(out)))
    return cosines


def _flat(value):
    import numpy as np

    if isinstance(value, (tuple, list)):
        return np.concatenate([_flat(v) for v in value])
    if isinstance(value, dict):
        return np.concatenate([_flat(v) for v in value.values()])
    return np.asarray(value.detach() if hasattr(value, "detach") else value,
                      np.float64).ravel()


def coverage_text(path: Path) -> tuple[int, str]:
    from edgebatch.delegate_coverage import delegate_coverage

    coverage = delegate_coverage(path.read_bytes())
    left = ", ".join(f"{n.count} {n.op}" + (" (hybrid)" if n.form.startswith("hybrid") else "")
                     for n in coverage.not_delegated)
    return coverage.partitions, left or "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--modes", nargs="+", default=MODES, choices=MODES + BEFORE)
    parser.add_argument("--before", action="store_true", help="also " + ", ".join(BEFORE))
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks/quant"))
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "DIR", "MODES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        name, directory, modes = args.child
        print(json.dumps(convert_modes(name, Path(directory), modes.split(","))))
        return 0

    import edgebatch  # noqa: F401  (torch before tensorflow, for the timing below)

    modes = ["fp32"] + [m for m in args.modes if m != "fp32"] + (BEFORE if args.before else [])
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models:
        proc = subprocess.run([sys.executable, __file__, "--child", name, str(args.out),
                               ",".join(modes)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{name}: conversion failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        cosines = json.loads(proc.stdout.strip().splitlines()[-1])
        paths = [args.out / f"{name}_{mode}.tflite" for mode in modes]
        ms = {threads: latencies(paths, threads, args.runs) for threads in (1, 2)}
        fp32_size = paths[0].stat().st_size
        for i, (mode, path) in enumerate(zip(modes, paths)):
            partitions, left = coverage_text(path)
            row = {"model": name, "mode": mode, "size_mb": path.stat().st_size / 1e6,
                   "size_ratio": path.stat().st_size / fp32_size,
                   "ms_1t": ms[1][i], "ratio_1t": ms[1][i] / ms[1][0],
                   "ms_2t": ms[2][i], "ratio_2t": ms[2][i] / ms[2][0],
                   "cosine": cosines[mode], "partitions": partitions, "not_delegated": left}
            rows.append(row)
            print(json.dumps(row), flush=True)
    _print_table(rows)
    (args.out / "results.json").write_text(json.dumps(
        {"machine": f"{platform.machine()} {os.cpu_count()} cores", "runs": args.runs,
         "rows": rows}, indent=2))
    return 0


def _print_table(rows: list[dict]) -> None:
    print("| model | mode | size MB | × fp32 | 1 thread ms | × fp32 | 2 threads ms | × fp32 "
          "| cosine | XNNPACK partitions | not delegated |")
    print("|---" * 11 + "|")
    for r in rows:
        print(f"| {r['model']} | {r['mode']} | {r['size_mb']:.2f} | {r['size_ratio']:.3f} "
              f"| {r['ms_1t']:.2f} | {r['ratio_1t']:.2f} | {r['ms_2t']:.2f} | {r['ratio_2t']:.2f} "
              f"| {r['cosine']:.4f} | {r['partitions']} | {r['not_delegated']} |")


if __name__ == "__main__":
    raise SystemExit(main())
