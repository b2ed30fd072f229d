"""Typed errors. Every error says what went wrong and what to do next."""

from __future__ import annotations


class EdgeBatchError(Exception):
    """Base class of every error edgebatch raises on purpose."""


class ExportError(EdgeBatchError):
    """torch.export could not capture the model."""


class UnsupportedOpError(EdgeBatchError):
    """An ATen op in the exported graph has no lowering."""

    def __init__(self, op: str, source: str | None, node_name: str):
        self.op = op
        self.source = source
        self.node_name = node_name
        where = f" at {source}" if source else ""
        super().__init__(
            f"no lowering for ATen op '{op}' (graph node '{node_name}'){where}. "
            "Run edgebatch.debug.find_culprits(module, args) for a minimal repro, "
            "or rewrite that line with supported ops."
        )


class LoweringError(EdgeBatchError):
    """A lowering exists but failed on this node's arguments."""


class ConversionError(EdgeBatchError):
    """TensorFlow's TFLite converter rejected the lowered graph."""


class ModelLoadError(EdgeBatchError):
    """A file is missing, corrupt or not a TFLite flatbuffer."""


class ValidationError(EdgeBatchError):
    """Converted outputs do not match PyTorch within tolerance."""


class RecipeError(EdgeBatchError):
    """A recipe is malformed; the message names the config path of the bad field."""


class RegistryError(EdgeBatchError):
    """The artifact registry could not complete an operation."""
