"""The latency floor of an fp32 ViT-B/16: its 49 fully connected layers and nothing else.

ViT-B/16 spends ~17 of its ~17.6 GMAC in FULLY_CONNECTED layers (per block: QKV
768→2304, attention output 768→768, MLP 768→3072→768, on 197 tokens), which XNNPACK
runs with the same kernel whichever converter wrote the file. A model made of only
those layers (same shapes, same order) is the floor any converter's file can reach;
whole-model latency minus the floor is what layout, attention, LayerNorm and GELU cost.
Timings are interleaved run by run in one process, so machine drift hits all alike.

    python benchmarks/vit_floor.py                                  # ours vs the floor
    python benchmarks/vit_floor.py --compare outputs/google/vit_b_16.tflite
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import latencies  # noqa: E402  (benchmarks/ is a folder of scripts)

TOKENS, WIDTH, MLP, BLOCKS = 197, 768, 3072, 12


def fully_connected_only():
    import torch

    class ViTMatmuls(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList(torch.nn.ModuleList([
                torch.nn.Linear(WIDTH, 3 * WIDTH), torch.nn.Linear(WIDTH, WIDTH),
                torch.nn.Linear(WIDTH, MLP), torch.nn.Linear(MLP, WIDTH),
            ]) for _ in range(BLOCKS))
            self.head = torch.nn.Linear(WIDTH, 1000)

        def forward(self, x):
            for qkv, out, up, down in self.blocks:
                x = out(qkv(x)[..., :WIDTH])  # the slice keeps QKV's full 2304 outputs live
                x = down(up(x))
            return self.head(x[:, 0])

    torch.manual_seed(0)
    return ViTMatmuls().eval(), (torch.randn(1, TOKENS, WIDTH),)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ours", type=Path, help="our vit_b_16.tflite (converted if not given)")
    parser.add_argument("--compare", type=Path, action="append", default=[],
                        help="another converter's vit_b_16.tflite (repeatable)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks"))
    args = parser.parse_args(argv)

    import edgebatch
    import model_zoo

    args.out.mkdir(parents=True, exist_ok=True)
    floor = args.out / "vit_b_16_fc_only.tflite"
    edgebatch.convert(*fully_connected_only()).export(floor)
    ours = args.ours
    if ours is None:
        ours = args.out / "vit_b_16.tflite"
        edgebatch.convert(*model_zoo.build("torchvision/vit_b_16")).export(ours)
    files = [("FC layers only (floor)", floor), ("edgebatch", ours)]
    files += [(f"compare: {p}", p) for p in args.compare]

    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; median of {args.runs}")
    results = {t: latencies([p for _, p in files], t, args.runs) for t in (1, 2)}
    print("| file | ms 1 thread | above floor | ms 2 threads | above floor |")
    print("|---|---|---|---|---|")
    for i, (label, _) in enumerate(files):
        cells = []
        for t in (1, 2):
            ms = results[t][i]
            cells += [f"{ms:.1f}", f"{ms - results[t][0]:+.1f} ({ms / results[t][0] - 1:+.0%})"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
