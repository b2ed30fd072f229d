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
