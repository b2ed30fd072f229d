"""Small modules for batch-runner tests: one that cannot convert, one with a degenerate output."""

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
