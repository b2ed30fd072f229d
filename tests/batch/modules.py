"""Small modules for batch-runner tests: one that cannot convert, one with a degenerate output,
one with a hybrid op XNNPACK does not run, ..."""

from __future__ import annotations

import torch
from torch import nn


class Unconvertible(nn.Module):
    """Uses aten.digamma, which has no lowering: conversion fails with UnsupportedOpError."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x):
        return torch.digamma(self.linear(x).abs() + 1.0)


class Collapsed(nn.Module):
    """Output ~1e-9 whatever the input (an untrained net that collapsed)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x):
        return self.linear(x) * 1e-12


class Segfaults(nn.Module):
    """Dies in native code while being traced: a read of address 0 (SIGSEGV)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x):
        import ctypes

        ctypes.string_at(0)
        return self.linear(x)


class Hangs(nn.Module):
    """Never returns from forward."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x):
        import time

        while True:
            time.sleep(1)


class Raises(nn.Module):
    """A forward that raises a plain Python error."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x):
        raise RuntimeError("this model is broken on purpose")


class TanhHead(nn.Module):
    """linear → tanh → linear: a model small enough to pin a wrong tanh lowering."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(8, 16)
        self.last = nn.Linear(16, 4)

    def forward(self, x):
        return self.last(torch.tanh(self.first(x)))


class InvertedResidual(nn.Module):
    """mobilenet_v2's block in small: its depthwise weight (1152 elements) is large enough
    for dynamic-range quantization, whose hybrid DEPTHWISE_CONV_2D XNNPACK does not take."""

    def __init__(self):
        super().__init__()
        self.expand = nn.Conv2d(16, 128, 1)
        self.depthwise = nn.Conv2d(128, 128, 3, padding=1, groups=128)
        self.project = nn.Conv2d(128, 16, 1)
        self.fc = nn.Linear(16, 64)

    def forward(self, x):
        y = nn.functional.relu6(self.depthwise(nn.functional.relu6(self.expand(x))))
        x = self.project(y) + x
        return self.fc(x.mean((2, 3)))


class Hoards(nn.Module):
    """Takes 50 MB more every 10 ms in forward, until a memory limit stops it (or 8 GB)."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(8, 4)

    def forward(self, x):
        import time

        chunks = []
        while len(chunks) < 160:
            chunks.append(bytearray(50 << 20))
            time.sleep(0.01)
        raise RuntimeError("no memory limit stopped this job")
