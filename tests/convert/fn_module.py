"""Wrap a plain function as an nn.Module so per-op tests can convert it."""

from __future__ import annotations

import torch


class Fn(torch.nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *args):
        return self.fn(*args)
