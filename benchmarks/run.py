"""Speed/size benchmark: convert zoo models and measure the .tflite files.

Each model is converted in its own subprocess (so peak RSS is that conversion's),
then every file is timed with the LiteRT interpreter (XNNPACK) at 1 and 2 threads.
With --compare DIR, files named DIR/<model>.tflite (e.g. made by another converter)
are timed interleaved with ours in the same process, run by run, so machine drift
hits both alike.

    python benchmarks/run.py                      # the nine models of the README table
    python benchmarks/run.py resnet18 --channels-last
    python benchmarks/run.py --compare /tmp/google_files --runs 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_MODELS = [
    "resnet18", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_b0", "squeezenet1_1",
    "shufflenet_v2_x1_0", "convnext_tiny", "vit_b_16", "deeplabv3_mobilenet_v3_large",
]


def convert_one(name: str, out_path: Path, channels_last: bool) -> dict:
    """Runs in the child process: build, convert, export; report time and peak RSS."""
    import resource

    import edgebatch
    import model_zoo

    module, inputs = model_zoo.build(f"torchvision/{name}")
    if channels_last:
        from edgebatch.layout import to_channel_last_io

        module = to_channel_last_io(module, args=[0], outputs=_four_d_outputs(module, inputs))
        inputs = (inputs[0].permute(0, 2, 3, 1).contiguous(),)
    start = time.perf_counter()
    converted = edgebatch.convert(module, inputs)
    seconds = time.perf_counter() - start
    converted.export(out_path)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"convert_s": seconds, "peak_rss_mb": peak_mb}


def _four_d_outputs(module, inputs) -> list[int]:
    import torch

    with torch.no_grad():
        out = module(*inputs)
    outs = out if isinstance(out, (tuple, list)) else [out]
    return [i for i, o in enumerate(outs) if o.dim() == 4]


def file_stats(path: Path) -> dict:
    from edgebatch.flatbuffer_summary import summarize
    from edgebatch.model import TfLiteModel

    flatbuffer = path.read_bytes()
    summary = summarize(flatbuffer)
    partitions = TfLiteModel(flatbuffer).xnnpack_partitions()
    return {
        "size_mb": summary.size_bytes / 1e6, "ops": summary.num_ops,
        "transposes": summary.transposes, "gather_nd": summary.ops.get("GATHER_ND", 0),
        "pads": summary.ops.get("PAD", 0) + summary.ops.get("PADV2", 0),
        "xnnpack_partitions": partitions,
    }


def _interpreter(path: Path, threads: int):
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    rng = np.random.default_rng(0)
    for detail in interpreter.get_input_details():
        interpreter.set_tensor(detail["index"],
                               rng.standard_normal(detail["shape"]).astype(detail["dtype"]))
    return interpreter


def latencies(paths: list[Path], threads: int, runs: int, warmup: int = 5) -> list[float]:
    """Median ms per file; the files' runs are interleaved."""
    interpreters = [_interpreter(p, threads) for p in paths]
    for interpreter in interpreters:
        for _ in range(warmup):
            interpreter.invoke()
    samples: list[list[float]] = [[] for _ in paths]
    for _ in range(runs):
        for interpreter, times in zip(interpreters, samples):
            start = time.perf_counter()
            interpreter.invoke()
            times.append((time.perf_counter() - start) * 1e3)
    return [statistics.median(times) for times in samples]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", default=DEFAULT_MODELS)
    parser.add_argument("--channels-last", action="store_true", help="NHWC input/4-D outputs")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--compare", type=Path, help="dir of other .tflite files to time against")
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks"))
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(convert_one(args.child[0], Path(args.child[1]), args.channels_last)))
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in args.models:
        path = args.out / f"{name}{'_nhwc' if args.channels_last else ''}.tflite"
        cmd = [sys.executable, __file__, "--child", name, str(path)]
        if args.channels_last:
            cmd.append("--channels-last")
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{name}: conversion failed\n{proc.stderr[-1500:]}", file=sys.stderr)
            continue
        row = {"model": name, **json.loads(proc.stdout.strip().splitlines()[-1]), **file_stats(path)}
        files = [path]
        other = args.compare / f"{name}.tflite" if args.compare else None
        if other and other.exists():
            files.append(other)
            row["other_transposes"] = file_stats(other)["transposes"]
        for threads in (1, 2):
            times = latencies(files, threads, args.runs)
            row[f"ms_{threads}t"] = times[0]
            if len(times) > 1:
                row[f"other_ms_{threads}t"] = times[1]
        rows.append(row)
        print(json.dumps(row), flush=True)
    _print_table(rows)
    (args.out / "results.json").write_text(json.dumps(
        {"machine": f"{platform.machine()} {os.cpu_count()} cores", "rows": rows}, indent=2))
    return 0


def _print_table(rows: list[dict]) -> None:
    cols = ["model", "convert_s", "peak_rss_mb", "size_mb", "ops", "transposes", "gather_nd",
            "pads", "xnnpack_partitions", "ms_1t", "ms_2t"]
    if any("other_ms_1t" in r for r in rows):
        cols += ["other_transposes", "other_ms_1t", "other_ms_2t"]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        cells = [f"{r[c]:.1f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
