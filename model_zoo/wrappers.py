"""Wrappers that adapt a model's call signature to what conversion needs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn


class SelectOutput(nn.Module):
    """Return only `output[index_or_key]` (tuple index or dict key) of the wrapped module."""

    def __init__(self, module: nn.Module, index_or_key: int | str):
        super().__init__()
        self.module = module
        self.index_or_key = index_or_key

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)[self.index_or_key]


class SegmentationOut(SelectOutput):
    """torchvision segmentation models return {'out': ..., 'aux': ...}; keep 'out'."""

    def __init__(self, module: nn.Module):
        super().__init__(module, "out")


class DetectionOut(nn.Module):
    """torchvision detectors take a list of images and return a list of dicts; take a
    batch tensor and return the first image's (boxes, scores, labels)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor):
        detections = self.model(list(images))[0]
        return detections["boxes"], detections["scores"], detections["labels"]


class FinalFlow(nn.Module):
    """RAFT returns the flow after every refinement iteration; keep the last one.
    `num_flow_updates` sets the iterations (RAFT's default, 12, when None)."""

    def __init__(self, model: nn.Module, num_flow_updates: int | None = None):
        super().__init__()
        self.model = model
        self.num_flow_updates = num_flow_updates

    def forward(self, image1: torch.Tensor, image2: torch.Tensor):
        kwargs = {} if self.num_flow_updates is None else {"num_flow_updates": self.num_flow_updates}
        return self.model(image1, image2, **kwargs)[-1]


class KwargsToPositional(nn.Module):
    """Take positional inputs and pass them to the wrapped module as keyword arguments."""

    def __init__(self, module: nn.Module, names: Sequence[str]):
        super().__init__()
        self.module = module
        self.names = tuple(names)

    def forward(self, *args):
        if len(args) != len(self.names):
            raise TypeError(f"expected {len(self.names)} inputs {self.names}, got {len(args)}")
        return self.module(**dict(zip(self.names, args)))


class FixedExtraArgs(nn.Module):
    """Call the wrapped module with fixed extra arguments after the given ones.

    `module(*inputs, *args, **kwargs, **call_kwargs)`. Tensor arguments are kept as
    non-persistent buffers, so they follow `.to()` and stay out of the state_dict.
    """

    def __init__(
        self, module: nn.Module, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None
    ):
        super().__init__()
        self.module = module
        self._arg_names = [self._keep(f"arg_{i}", value) for i, value in enumerate(args)]
        self._kwarg_names = {
            key: self._keep(f"kwarg_{key}", value) for key, value in (kwargs or {}).items()
        }

    def _keep(self, name: str, value: Any) -> str:
        if isinstance(value, torch.Tensor):
            self.register_buffer(name, value, persistent=False)
        else:
            setattr(self, name, value)
        return name

    def forward(self, *inputs, **call_kwargs):
        args = [getattr(self, name) for name in self._arg_names]
        kwargs = {key: getattr(self, name) for key, name in self._kwarg_names.items()}
        return self.module(*inputs, *args, **kwargs, **call_kwargs)
