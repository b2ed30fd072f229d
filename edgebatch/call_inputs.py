"""A model call's inputs, checked against the signature, as the arrays LiteRT is fed.

LiteRT resizes each input tensor to whatever array it gets, so a wrong shape either fails
deep inside a kernel (XNNPACK's "failed to reshape runtime") or, worse, runs: a rank-1
array fed to a [-1, 8] input comes back as a batch of one. And numpy's cast to the
input's dtype silently truncates floats and wraps int64. So every input is checked here
first: its name, its rank and static dimensions (dynamic ones, -1 in the signature, take
any size), and a dtype cast that keeps every value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils import _pytree as pytree

from edgebatch._convert.signature import input_names_and_values
from edgebatch.errors import InputError, InputTypeError

_DYNAMIC = -1


def signature_feeds(signature_name: str, details: dict[str, dict], args: tuple,
                    kwargs: dict) -> dict[str, np.ndarray]:
    """{input name: array of the input's dtype} for one call, or a typed error."""
    given = dict(input_names_and_values(args, kwargs))
    unknown = [name for name in given if name not in details]
    if unknown:
        raise InputTypeError(
            f"signature '{signature_name}' has no input '{unknown[0]}'; "
            f"its inputs are {sorted(details)}"
        )
    missing = [name for name in details if name not in given]
    if missing:
        raise InputTypeError(
            f"missing inputs for signature '{signature_name}': {sorted(missing)} "
            f"(expects {_describe_all(details)})" + _python_values_hint(args, kwargs)
        )
    return {name: _feed(signature_name, name, value, details[name])
            for name, value in given.items()}


def _feed(signature_name: str, name: str, value: Any, detail: dict) -> np.ndarray:
    array = _as_numpy(value)
    dtype = np.dtype(detail["dtype"])
    shape = _signature_shape(detail)
    where = f"input '{name}' of signature '{signature_name}'"
    expected = f"expects shape {_shape_text(shape)} ({dtype.name})"
    if array.dtype.kind == "c":
        raise InputTypeError(
            f"{where} got a {array.dtype.name} array; TFLite has no complex inputs. Pass the "
            "real and imaginary parts as a real tensor (torch.view_as_real) and convert "
            "the model that way."
        )
    if array.dtype.kind not in "biuf" and dtype.kind in "biuf":
        raise InputTypeError(f"{where} {expected}, got an array of {array.dtype}")
    if len(array.shape) != len(shape) or any(
            want not in (_DYNAMIC, got) for want, got in zip(shape, array.shape)):
        raise InputError(f"{where} {expected}, got {list(array.shape)}")
    if 0 in array.shape:
        raise InputError(
            f"{where} got the zero-size shape {list(array.shape)}; LiteRT cannot run a "
            "tensor without elements. Give every dimension at least one element."
        )
    return _cast(where, array, dtype)


def _cast(where: str, array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`array` as `dtype`, or an InputError when that would change a value."""
    if array.dtype == dtype or dtype.kind not in "biu" or array.dtype.kind == "b":
        return np.ascontiguousarray(array.astype(dtype, copy=False))
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array) | (array != np.round(array))
        if bad.any():
            raise InputError(
                f"{where} is {dtype.name}; got the non-integral value "
                f"{array[bad].flat[0].item()!r}. Round or cast the input to {dtype.name} "
                "yourself."
            )
    low, high = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
    if array.size and (array.min() < low or array.max() > high):
        outside = array[(array < low) | (array > high)].flat[0].item()
        raise InputError(
            f"{where} is {dtype.name}, which holds {low}..{high}; got {outside!r}. "
            "Bring the values into that range (or convert the model with a wider dtype)."
        )
    return np.ascontiguousarray(array.astype(dtype))


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype == torch.bfloat16:  # numpy has no bfloat16
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _signature_shape(detail: dict) -> list[int]:
    signature = detail.get("shape_signature")
    if signature is not None and len(signature) == len(detail["shape"]):
        return [int(d) for d in signature]
    return [int(d) for d in detail["shape"]]


def _shape_text(shape: list[int]) -> str:
    return "[" + ", ".join("?" if d == _DYNAMIC else str(d) for d in shape) + "]"


def _describe_all(details: dict[str, dict]) -> str:
    return ", ".join(
        f"{name}: {_shape_text(_signature_shape(d))} {np.dtype(d['dtype']).name}"
        for name, d in sorted(details.items())
    )


def _python_values_hint(args: tuple, kwargs: dict) -> str:
    """Python numbers in a call are not inputs (torch.export baked them into the model)."""
    numbers = [leaf for leaf in pytree.tree_leaves((args, kwargs))
               if isinstance(leaf, (int, float)) and not isinstance(leaf, bool)]
    if not numbers:
        return ""
    shown = ", ".join(repr(n) for n in numbers[:4]) + (", ..." if len(numbers) > 4 else "")
    return f"; the call's Python numbers ({shown}) are not inputs: pass arrays or tensors"
