"""Loading a local state_dict file into a freshly built model. Never downloads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from model_zoo.errors import FileContentError, WeightsFileError


def load_weights(module: nn.Module, path: str | Path) -> nn.Module:
    """Load the state_dict stored at `path` (torch.save, .pt/.pth) into `module`, strictly."""
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load raises several unrelated types
        raise FileContentError(f"cannot read weights file {path}: {error}") from error
    if not isinstance(state, Mapping):
        raise FileContentError(
            f"weights file {path} holds a {type(state).__name__}, not a state_dict; "
            "save it with torch.save(model.state_dict(), path)"
        )
    try:
        module.load_state_dict(state)
    except RuntimeError as error:
        raise FileContentError(
            f"weights file {path} does not fit {type(module).__name__}: {error}"
        ) from error
    return module
