"""The arguments of `convert` and `signature`, checked before anything is traced.

Each bad argument gets one typed error whose first line says what is wrong and what to
do, instead of an AttributeError deep inside, a flag TF's converter silently ignores, or
a model that fails only when LiteRT runs it.
"""

from __future__ import annotations

import difflib
import functools

import torch
from torch.utils import _pytree as pytree

from edgebatch._convert import dtypes
from edgebatch._convert.signature import input_names_and_values
from edgebatch._imports import tensorflow
from edgebatch.errors import InputError, InputTypeError
from edgebatch.quantize import presets
from edgebatch.quantize.quant_config import QuantConfig

tf = tensorflow()


def check_module(module) -> None:
    if isinstance(module, torch.nn.Module):
        return
    if isinstance(module, torch.export.ExportedProgram):
        hint = "pass program.module() (the exported program as a module)"
    elif callable(module):
        hint = "wrap it in a torch.nn.Module whose forward calls it"
    else:
        hint = "pass the model itself"
    raise InputTypeError(
        f"the module to convert must be a torch.nn.Module, got {type(module).__name__}; {hint}"
    )


def check_sample_inputs(signature_name: str, args: tuple, kwargs: dict) -> None:
    """Every input leaf must be a torch tensor that TFLite can take; Python scalars are fine
    (torch.export bakes them into the model), Python lists of floats are not (see below)."""
    where = f"signature '{signature_name}': sample input"
    for name, value in input_names_and_values(args, kwargs):
        if not isinstance(value, torch.Tensor):
            raise InputTypeError(
                f"{where} '{name}' is a {type(value).__module__}.{type(value).__name__}; "
                "torch.export traces torch tensors only: pass torch.as_tensor(value)"
            )
        if value.dtype.is_complex:
            raise InputTypeError(
                f"{where} '{name}' is {value.dtype}; TFLite has no complex inputs. Pass the "
                "real and imaginary parts as a real tensor (torch.view_as_real(x))."
            )
        try:
            dtypes.tf_dtype(value.dtype)
        except TypeError:
            raise InputTypeError(
                f"{where} '{name}' is {value.dtype}, which TFLite has no type for; cast it "
                "(e.g. x.float() or x.int())"
            ) from None
        if 0 in value.shape:
            raise InputError(
                f"{where} '{name}' has the zero-size shape {list(value.shape)}; LiteRT cannot "
                "run a model on it ('Invalid tensor size'). Give a sample whose every "
                "dimension is at least 1 (and a dynamic_shapes entry if the size varies)."
            )
    top_level = [(f"sample_args[{i}]", value) for i, value in enumerate(args)]
    top_level += [(f"sample_kwargs[{key!r}]", value) for key, value in kwargs.items()]
    for prefix, value in top_level:
        for path, leaf in pytree.tree_flatten_with_path(value, is_leaf=_is_float_list)[0]:
            if _is_float_list(leaf):
                # torch.export bakes Python numbers into the graph: the model would ignore
                # the values passed at run time. Integer tuples (sizes, dims) mean that.
                raise InputTypeError(
                    f"{where} {prefix}{pytree.keystr(path)} is a Python "
                    f"{type(leaf).__name__} of floats; torch.export would bake its values "
                    "into the model, which would then ignore what you pass at run time. Pass "
                    "a tensor (torch.tensor(values)) to make it an input, or keep constants "
                    "in the module."
                )


def _is_float_list(value) -> bool:
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            and any(isinstance(v, float) for v in value))


def check_quant_config(quant_config) -> None:
    if quant_config is None or isinstance(quant_config, QuantConfig):
        return
    hint = (f"QuantConfig(preset={quant_config!r})" if quant_config in presets.PRESETS
            else "QuantConfig(preset=...) or QuantConfig(pt2e_quantizer=...)")
    raise InputTypeError(
        f"quant_config must be an edgebatch QuantConfig, got {type(quant_config).__name__} "
        f"{quant_config!r}; pass {hint}"
    )


@functools.cache
def _converter_defaults():
    """A TFLiteConverter with its default attributes: the names the flags may set."""
    return tf.lite.TFLiteConverter([], None)


def check_converter_flags(flags: dict | None) -> None:
    """Every flag must name an attribute of TF's TFLiteConverter (nested dicts: of the
    attribute's value, e.g. target_spec); TF would silently ignore any other name."""
    _check_flags(_converter_defaults(), flags or {}, "")


def _settable(target) -> list[str]:
    return sorted(name for name in dir(target)
                  if not name.startswith("__") and not callable(getattr(target, name, None)))


def _check_flags(target, flags: dict, prefix: str) -> None:
    known = _settable(target)
    for name, value in flags.items():
        flag = f"{prefix}{name}"
        if name not in known:
            close = difflib.get_close_matches(str(name), known, n=1)
            suggestion = f"; did you mean '{prefix}{close[0]}'?" if close else "."
            owner = "tf.lite.TFLiteConverter" + (f".{prefix.rstrip('.')}" if prefix else "")
            raise InputError(f"unknown converter flag '{flag}' in _ai_edge_converter_flags"
                             f"{suggestion} Flags set attributes of {owner}.")
        if isinstance(value, dict):
            child = getattr(target, name)
            if child is None or isinstance(child, (bool, int, float, str, list, tuple, set)):
                raise InputError(
                    f"converter flag '{flag}' takes a value, not a dict of nested flags"
                )
            _check_flags(child, value, f"{flag}.")
