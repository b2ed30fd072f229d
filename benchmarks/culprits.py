"""How long find_culprits takes to find every culprit of a ~60-op model.

A small residual CNN (about 60 ops once exported) with three independent uses of a
custom op that has no lowering: find_culprits must return three one-op culprits.

    python benchmarks/culprits.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import torch

import edgebatch

_LIBRARY = torch.library.Library("edgebatch_bench", "DEF")
_LIBRARY.define("rare(Tensor x) -> Tensor")
torch.library.impl(_LIBRARY, "rare", "CompositeExplicitAutograd")(lambda x: x * 0.5)
torch.library.impl(_LIBRARY, "rare", "Meta")(lambda x: torch.empty_like(x))
rare = torch.ops.edgebatch_bench.rare.default


class Block(torch.nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, channels, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(channels)
        self.conv2 = torch.nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = torch.nn.BatchNorm2d(channels)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + x)


class ThreeCulprits(torch.nn.Module):
    def __init__(self, channels: int = 16, blocks: int = 5):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = torch.nn.ModuleList(Block(channels) for _ in range(blocks))
        self.head = torch.nn.Linear(channels, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i == 1:
                x = rare(x)  # culprit 1
            if i == 3:
                x = x + rare(x.sigmoid())  # culprit 2, on a side branch
        x = x.mean((2, 3))
        return rare(self.head(x))  # culprit 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)

    torch.manual_seed(0)
    module, args = ThreeCulprits().eval(), (torch.randn(1, 3, 32, 32),)
    program = torch.export.export(module, args).run_decompositions()
    ops = sum(n.op == "call_function" for n in program.graph.nodes)
    edgebatch.convert(torch.nn.Linear(2, 2).eval(), (torch.randn(1, 2),))  # load TF once
    for run in range(options.repeat):
        start = time.perf_counter()
        culprits = list(edgebatch.debug.find_culprits(module, args))
        seconds = time.perf_counter() - start
        print(f"run {run + 1}: {len(culprits)} culprits in {ops} ops, {seconds:.1f} s")
    for culprit in culprits:
        print(f"  {culprit}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
