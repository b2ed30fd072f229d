"""One entry point over all zoos: `build("torchvision/resnet18")` → (module, inputs)."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import torch
from torch import nn

from model_zoo import examples, torchaudio_zoo, torchvision_zoo
from model_zoo.errors import UnknownModelError

_ZOOS: dict[str, tuple[ModuleType, Callable[..., nn.Module]]] = {
    "torchvision": (torchvision_zoo, torchvision_zoo.build_torchvision),
    "torchaudio": (torchaudio_zoo, torchaudio_zoo.build_torchaudio),
    "examples": (examples, examples.build_example),
}


def list_entries() -> list[str]:
    """Every entry as 'zoo/name', e.g. 'torchvision/resnet18', 'examples/TinyCNN'."""
    return [f"{zoo}/{name}" for zoo, (module, _) in _ZOOS.items() for name in module.list_models()]


def build(
    entry: str, *, input_seed: int = 1234, **kwargs
) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """Build a zoo entry and its seeded sample inputs (batch 1, drawn from `input_seed`).

    `kwargs` go to the zoo's builder: build_torchvision, build_torchaudio or build_example
    (e.g. `seed`, `weights_path`, `meaningful`, `raw`).
    """
    zoo, _, name = entry.partition("/")
    if zoo not in _ZOOS or not name:
        raise UnknownModelError(
            f"bad zoo entry {entry!r}; expected 'ZOO/NAME' with ZOO one of {sorted(_ZOOS)}"
        )
    module, builder = _ZOOS[zoo]
    model = builder(name, **kwargs)
    return model, module.sample_inputs(name, seed=input_seed)
