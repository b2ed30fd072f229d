"""Typed errors of the model zoo. Each message says what went wrong and what to do."""

from __future__ import annotations

from pathlib import Path


class ZooError(Exception):
    """Base class of every error the model zoo raises on purpose."""


class UnknownModelError(ZooError, ValueError):
    """The zoo has no entry of that name."""


class DownloadRefusedError(ZooError, ValueError):
    """The request would download weights; the zoo never touches the network."""


class WeightsFileError(ZooError, FileNotFoundError):
    """A local weights file does not exist."""

    def __init__(self, path: str | Path):
        super().__init__(
            f"weights file not found: {path}. Point weights_path at an existing state_dict "
            "file (.pt/.pth), or leave it unset to use the seeded random init."
        )
        self.filename = str(path)


class InputsFileError(ZooError, FileNotFoundError):
    """A sample-inputs file does not exist."""

    def __init__(self, path: str | Path):
        super().__init__(f"inputs file not found: {path}. Expected an existing .npz or .pt file.")
        self.filename = str(path)


class FileContentError(ZooError, ValueError):
    """A local weights or inputs file exists but cannot be used (format, contents, keys)."""
