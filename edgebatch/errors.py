"""Typed errors. Every error says what went wrong and what to do next."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message (OmegaConf's `msg` without the key
    and location it appends), or the error's class name when it has no message."""
    text = str(getattr(error, "msg", None) or error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


class EdgeBatchError(Exception):
    """Base class of every error edgebatch raises on purpose."""


class InputError(EdgeBatchError, ValueError):
    """An argument of convert or of a model call does not fit: a shape, a dtype, a value,
    a converter flag."""


class InputTypeError(InputError, TypeError):
    """An argument of the wrong kind (a lambda for a module, a string for a QuantConfig,
    a complex tensor), or call inputs missing from or unknown to the signature."""


class UnknownSignatureError(InputError, KeyError):
    """The model has no signature of the name asked for."""

    __str__ = Exception.__str__  # KeyError's would quote the message


class TrainingModeError(InputError):
    """Conversion failed on a module left in training mode; call .eval() first."""


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


class ModelTooLargeError(ConversionError):
    """The model's weights and constants exceed the 2 GB a TFLite flatbuffer can hold."""


class ModelLoadError(EdgeBatchError, ValueError):
    """A file is missing, corrupt or not a TFLite flatbuffer."""


class InferenceError(EdgeBatchError, RuntimeError):
    """LiteRT failed while running the model on inputs that passed the signature checks."""


class ValidationError(EdgeBatchError):
    """Converted outputs do not match PyTorch within tolerance."""


class RecipeError(EdgeBatchError):
    """A recipe is malformed; the message names the config path of the bad field."""


class RegistryError(EdgeBatchError):
    """The artifact registry could not complete an operation."""


class CorruptBlobError(RegistryError):
    """An artifact's blob is missing or no longer holds the bytes that were registered."""


class JobAbortedError(EdgeBatchError):
    """A job's process ended before the job did: the job fails, the run goes on."""


class JobCrashError(JobAbortedError):
    """The job's process died (a signal such as SIGSEGV, or an exit without a result)."""


class JobTimeoutError(JobAbortedError):
    """The job ran past `runner.timeout_s` and was stopped."""


class JobMemoryError(JobAbortedError):
    """The job's resident memory went past `runner.memory_mb` and it was stopped."""
