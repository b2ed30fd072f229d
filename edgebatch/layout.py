"""`to_channel_last_io`: a module whose chosen inputs and outputs are channels-last.

The wrapper permutes the listed inputs from channels-last (N, *spatial, C) to torch's
channels-first before calling the module, and the listed outputs back after it. In the
converted model those permutes meet the channels-last interior that the layout pass
builds and cancel: an image model then has no TRANSPOSE at all.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch.utils import _pytree as pytree


def _to_channels_first(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def _to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, *range(2, x.dim()), 1)


def _check_rank(x, what: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"to_channel_last_io: {what} is a {type(x).__name__}, not a tensor")
    if x.dim() < 3:
        raise ValueError(
            f"to_channel_last_io: {what} has rank {x.dim()}; channels-last needs rank >= 3 "
            "(batch, spatial..., channels)"
        )


class ChannelLastIOWrapper(torch.nn.Module):
    """Wraps `module`: inputs `args` arrive channels-last, outputs `outputs` leave channels-last.

    Output indices count the flattened outputs (a tuple, list or dict is flattened in
    order); a single tensor output is output 0.
    """

    def __init__(self, module: torch.nn.Module, args: Sequence[int] = (),
                 outputs: Sequence[int] = ()):
        super().__init__()
        self.wrapped = module
        self._args = sorted(set(int(i) for i in args))
        self._outputs = sorted(set(int(i) for i in outputs))
        self.training = module.training  # follows the wrapped module (not recursive: exported
        # GraphModules refuse train()/eval())

    def forward(self, *args, **kwargs):
        args = list(args)
        for i in self._args:
            if i >= len(args):
                raise IndexError(f"to_channel_last_io: args={self._args} but the module got "
                                 f"{len(args)} positional inputs")
            _check_rank(args[i], f"input {i}")
            args[i] = _to_channels_first(args[i])
        result = self.wrapped(*args, **kwargs)
        if not self._outputs:
            return result
        leaves, spec = pytree.tree_flatten(result)
        for i in self._outputs:
            if i >= len(leaves):
                raise IndexError(f"to_channel_last_io: outputs={self._outputs} but the module "
                                 f"returns {len(leaves)} outputs")
            _check_rank(leaves[i], f"output {i}")
            leaves[i] = _to_channels_last(leaves[i])
        return pytree.tree_unflatten(leaves, spec)


def to_channel_last_io(module: torch.nn.Module, args: Sequence[int] | None = None,
                       outputs: Sequence[int] | None = None) -> torch.nn.Module:
    """Return `module` with inputs `args` and outputs `outputs` in channels-last layout.

    `to_channel_last_io(model, args=[0])` takes an NHWC image instead of NCHW;
    `outputs=[0]` also returns the (rank >= 3) first output as NHWC. Rank 3 (NLC) and
    5 (NDHWC) work the same way. Wrappers nest.
    """
    if not args and not outputs:
        return module
    return ChannelLastIOWrapper(module, args or (), outputs or ())


__all__ = ["ChannelLastIOWrapper", "to_channel_last_io"]
