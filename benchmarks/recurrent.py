"""LSTM/GRU as sequence kernels (or one WHILE loop) against the unrolled form they replace.

The unrolled form is what the converter wrote before recurrent layers were kept whole:
torch's decomposition of `aten.lstm` / `aten.gru`, one cell per time step. This script
gets it by dropping the two ops from export.KEEP_WHOLE for one conversion. Op counts
come from the files; latencies are interleaved run by run in one process (benchmarks/run.py).

    python benchmarks/recurrent.py               # op counts at 20 steps, latency at 100
"""

from __future__ import annotations

import argparse
import platform
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import latencies  # noqa: E402  (benchmarks/ is a folder of scripts)

BATCH, FEATURES, HIDDEN = 1, 32, 64


def cases():
    """(name, module, sequence length → sample input)."""
    import torch

    from model_zoo.examples import SequenceAndHidden

    torch.manual_seed(0)
    return [
        ("LSTM 2 layers", SequenceAndHidden(torch.nn.LSTM(FEATURES, HIDDEN, num_layers=2)).eval()),
        ("LSTM bidirectional", SequenceAndHidden(
            torch.nn.LSTM(FEATURES, HIDDEN, bidirectional=True)).eval()),
        ("GRU", SequenceAndHidden(torch.nn.GRU(FEATURES, HIDDEN)).eval()),
    ]


@contextmanager
def unrolled():
    """Convert recurrent layers the old way: decomposed into one cell per step (which
    also needs torch's own kernels while exporting, not the shape-only ones)."""
    import torch

    from edgebatch._convert import export

    kept, shape_only = export.KEEP_WHOLE, export.shape_only_recurrent_ops
    recurrent = {torch.ops.aten.lstm.input, torch.ops.aten.gru.input}
    export.KEEP_WHOLE = [op for op in kept if op not in recurrent]
    export.shape_only_recurrent_ops = nullcontext
    try:
        yield
    finally:
        export.KEEP_WHOLE, export.shape_only_recurrent_ops = kept, shape_only


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs=2, default=[20, 100],
                        help="sequence length for op counts, and for latency")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks"))
    args = parser.parse_args(argv)

    import numpy as np
    import torch

    import edgebatch
    from edgebatch.flatbuffer_summary import summarize

    args.out.mkdir(parents=True, exist_ok=True)
    count_steps, time_steps = args.steps
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; "
          f"batch {BATCH}, {FEATURES} features, hidden {HIDDEN}; median of {args.runs}, 1 thread")
    print(f"| model | form | ops at {count_steps} steps | ops at {time_steps} steps | "
          f"top ops | ms at {time_steps} steps | max abs err |")
    print("|---|---|---|---|---|---|---|")
    for name, module in cases():
        rows = []
        for form in ("unrolled", "sequence kernel"):
            counts, path = [], None
            for steps in (count_steps, time_steps):
                x = torch.randn(steps, BATCH, FEATURES)
                if form == "unrolled":
                    with unrolled():
                        model = edgebatch.convert(module, (x,))
                else:
                    model = edgebatch.convert(module, (x,))
                path = args.out / f"{name.replace(' ', '_')}_{form.replace(' ', '_')}_{steps}.tflite"
                model.export(path)
                counts.append(summarize(path.read_bytes()).ops)
            with torch.no_grad():
                expected = module(x)
            error = max(float(np.abs(a - e.numpy()).max()) for a, e in zip(model(x), expected))
            rows.append((form, counts, path, error))
        ms = latencies([path for _, _, path, _ in rows], threads=1, runs=args.runs)
        for (form, counts, _, error), latency in zip(rows, ms):
            top = ", ".join(f"{op} {n}" for op, n in counts[0].most_common(3))
            print(f"| {name} | {form} | {sum(counts[0].values())} | {sum(counts[1].values())} | "
                  f"{top} | {latency:.3f} | {error:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
