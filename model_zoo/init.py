"""Deterministic, activation-preserving initialisation of randomly initialised networks.

Untrained torchvision nets collapse: mobilenet_v2 with weights=None outputs ~1e-9 and
vit_b_16's head is all zero, so any converter trivially "matches" them. After
`make_numerically_meaningful` their outputs keep their scale and depend on the input,
so comparing a converted model with PyTorch means something.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm, _NormBase
from torch.nn.modules.conv import _ConvNd

from model_zoo.weights import load_weights

SampleInputsFn = Callable[[int], tuple[torch.Tensor, ...]]
"""seed -> positional inputs of one calibration batch (use batch size > 1 for BatchNorm)."""

_LAYERS = (nn.Linear, _ConvNd)
_NORMS = (_NormBase, nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)


def make_numerically_meaningful(
    module: nn.Module, sample_inputs_fn: SampleInputsFn, *, seed: int = 0, batches: int = 4
) -> nn.Module:
    """Re-initialise a random network in place so its activations keep their scale.

    1. Constant parameters (all-zero heads and biases, all-one norm scales) are redrawn
       from a generator seeded with `seed`: Linear/Conv weights kaiming-normal, norm
       scales uniform in [0.75, 1.25], biases uniform in [-0.1, 0.1].
    2. `batches` calibration batches `sample_inputs_fn(seed + i)` run under no_grad with
       only the BatchNorm layers in training mode, which re-estimates their running
       statistics as a cumulative average (momentum=None).
    3. During the first batch every Linear/Conv layer is rescaled once, in call order, so
       that its output has unit standard deviation (LSUV); downstream layers already see
       the rescaled activations, so one pass suffices.

    Meant for randomly initialised models only (it changes their weights); deterministic
    for a given seed. Returns `module` in eval mode.
    """
    generator = torch.Generator().manual_seed(seed)
    module.eval()
    with torch.no_grad():
        _redraw_constant_parameters(module, generator)
        with _batchnorm_recalibration(module) as has_batchnorm:
            with _unit_output_scale(module):
                module(*sample_inputs_fn(seed))
            if has_batchnorm:
                for i in range(1, batches):
                    module(*sample_inputs_fn(seed + i))
    return module.eval()


def output_scale_ok(output, min_std: float = 1e-3) -> bool:
    """True if `output` (a tensor or nested tuple/list/dict) holds floating tensors and
    none is non-finite or degenerate: constant or ~0 (std, or |value| for a single
    element, below `min_std`)."""
    tensors = [t for t in _tensor_leaves(output) if t.is_floating_point()]
    return bool(tensors) and all(_tensor_scale_ok(t, min_std) for t in tensors)


def initialize(
    module: nn.Module,
    sample_inputs_fn: SampleInputsFn,
    *,
    seed: int = 0,
    weights_path: str | Path | None = None,
    meaningful: bool = True,
) -> nn.Module:
    """Give a freshly built module its parameters and return it in eval mode: the local
    state_dict at `weights_path` if given, else (if `meaningful`) the init above."""
    if weights_path is not None:
        load_weights(module, weights_path)
    elif meaningful:
        make_numerically_meaningful(module, sample_inputs_fn, seed=seed)
    return module.eval()


def seeded(factory: Callable[..., nn.Module], seed: int, *args, **kwargs) -> nn.Module:
    """Call `factory` with torch's global RNG seeded, restoring the RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return factory(*args, **kwargs)


def _is_constant(tensor: torch.Tensor) -> bool:
    first = tensor.reshape(-1)[0]
    return bool((tensor == first).all()) and (tensor.numel() > 1 or first.item() == 0)


def _redraw_constant_parameters(module: nn.Module, generator: torch.Generator) -> None:
    for layer in module.modules():
        for name, param in layer.named_parameters(recurse=False):
            if param.numel() == 0 or not _is_constant(param):
                continue
            if name.endswith("bias"):
                param.uniform_(-0.1, 0.1, generator=generator)
            elif isinstance(layer, _NORMS):
                param.uniform_(0.75, 1.25, generator=generator)
            elif isinstance(layer, _LAYERS) and name == "weight":
                nn.init.kaiming_normal_(param, generator=generator)


@contextmanager
def _batchnorm_recalibration(module: nn.Module) -> Iterator[bool]:
    """Put only the BatchNorm layers in cumulative training mode; yield whether any exist."""
    batchnorms = [
        m for m in module.modules() if isinstance(m, _BatchNorm) and m.track_running_stats
    ]
    momenta = [bn.momentum for bn in batchnorms]
    for bn in batchnorms:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    try:
        yield bool(batchnorms)
    finally:
        for bn, momentum in zip(batchnorms, momenta):
            bn.momentum = momentum
            bn.eval()


@contextmanager
def _unit_output_scale(module: nn.Module) -> Iterator[None]:
    """Rescale each Linear/Conv layer, on its first call, to unit output std."""
    rescaled: set[nn.Module] = set()

    def rescale(layer: nn.Module, args, output: torch.Tensor):
        if layer in rescaled:
            return None
        rescaled.add(layer)
        std = output.std() if output.numel() > 1 else output.new_tensor(0.0)
        if not torch.isfinite(std) or std <= 1e-12:
            return None
        layer.weight.div_(std)
        if layer.bias is not None:
            layer.bias.div_(std)
        return output / std

    # Layers whose weight is derived (weight norm, parametrizations) cannot be scaled in place.
    handles = [
        layer.register_forward_hook(rescale)
        for layer in module.modules()
        if isinstance(layer, _LAYERS) and isinstance(layer.weight, nn.Parameter)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _tensor_leaves(output) -> Iterator[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        yield output
    elif isinstance(output, dict):
        for value in output.values():
            yield from _tensor_leaves(value)
    elif isinstance(output, (list, tuple)):
        for value in output:
            yield from _tensor_leaves(value)


def _tensor_scale_ok(tensor: torch.Tensor, min_std: float) -> bool:
    tensor = tensor.detach().double()
    if tensor.numel() == 0 or not bool(torch.isfinite(tensor).all()):
        return False
    scale = tensor.std() if tensor.numel() > 1 else tensor.abs().reshape(())
    return bool(scale >= min_std)
