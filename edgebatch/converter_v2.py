"""litert_torch.converter_v2's names.

Google's V2 is a second conversion pipeline behind the same API (MLIR bytecode and
weight files on disk). edgebatch has one pipeline, so `convert`, `signature` and
`Converter` here are edgebatch's own, `is_supported()` is true, and the pieces of V2's
on-disk pipeline raise NotImplementedError.
"""

from __future__ import annotations

from edgebatch._convert.converter import Converter, convert, signature

_ON_DISK_PIPELINE = ("edgebatch converts in memory, with no MLIR bytecode or weight files on "
                     "disk; use edgebatch.convert(...) and model.export(path)")


def is_supported() -> bool:
    """Whether `converter_v2.convert` works here: it does (it is `edgebatch.convert`)."""
    return True


def export_to_dir(*args, **kwargs):
    raise NotImplementedError(f"converter_v2.export_to_dir: {_ON_DISK_PIPELINE}.")


def convert_signatures_v2(*args, **kwargs):
    raise NotImplementedError(f"converter_v2.convert_signatures_v2: {_ON_DISK_PIPELINE}.")


class ParameterRegistry:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"converter_v2.ParameterRegistry: {_ON_DISK_PIPELINE}.")


__all__ = ["Converter", "ParameterRegistry", "convert", "convert_signatures_v2",
           "export_to_dir", "is_supported", "signature"]
