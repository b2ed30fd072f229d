"""From a resolved recipe to modules and seeded inputs, one per signature.

`plan(cfg)` checks what composition cannot (an importable `_target_`, inputs given,
files present, layout indices in range) without importing torch, and raises
RecipeError naming the config path of the bad field. `build(plans)` then instantiates
the modules, applies the wrappers and draws the sample inputs. Signatures that use
the top-level model share one module instance, so their weights are stored once.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from edgebatch.errors import RecipeError

DEFAULT_SIGNATURE = "serving_default"


@dataclass(frozen=True)
class SignaturePlan:
    """What one signature is made of, with the config path each part came from."""

    name: str
    model: dict[str, Any]
    model_path: str  # config path of the model node, e.g. "model" or "signatures.a.model"
    wrapper: dict[str, Any]
    wrapper_path: str
    inputs: dict[str, Any]
    inputs_path: str


Inputs = tuple[tuple, dict]  # one call's (args, kwargs)


@dataclass(frozen=True)
class InputDraws:
    """Which seeded input sets a job needs beyond the sample: input i is drawn with seed i."""

    validation_seeds: tuple[int, ...] = ()
    calibration_seeds: tuple[int, ...] = ()


@dataclass
class BuiltSignature:
    """A module ready to convert with every input set the job uses, drawn once."""

    name: str
    module: Any  # torch.nn.Module
    args: tuple  # the sample inputs (export, benchmark)
    kwargs: dict
    validation_inputs: list[Inputs] = field(default_factory=list, repr=False)
    calibration_inputs: list[Inputs] = field(default_factory=list, repr=False)
    channels_last: tuple[int, ...] = ()  # positional inputs moved to channels-last
    float_module: Any = None  # the float module when `module` was quantized in PyTorch
    dynamic_shapes: Any = None  # torch.export's dynamic_shapes for the positional inputs
    # torch.export specializes a dim whose sample size is 1, so a dynamic dim that the sample
    # holds at size 1 is exported from this draw instead, with that dim at size 2.
    export_args: tuple | None = None

    @property
    def export_sample(self) -> tuple:
        """The positional inputs torch.export traces."""
        return self.export_args if self.export_args is not None else self.args

    @property
    def reference_module(self):
        """The float PyTorch module every converted output is compared with."""
        return self.float_module if self.float_module is not None else self.module

    def set_channels_last(self, indices: tuple[int, ...]) -> None:
        """Move every input set's positional inputs `indices` to channels-last."""
        self.channels_last = tuple(indices)
        if self.dynamic_shapes is not None:
            self.dynamic_shapes = tuple(
                _channels_last_dims(dims, len(self.args[i].shape))
                if i in self.channels_last and dims else dims
                for i, dims in enumerate(self.dynamic_shapes)
            )
        self.args = self.to_layout(self.args)
        if self.export_args is not None:
            self.export_args = self.to_layout(self.export_args)
        self.validation_inputs = [(self.to_layout(a), k) for a, k in self.validation_inputs]
        self.calibration_inputs = [(self.to_layout(a), k) for a, k in self.calibration_inputs]

    def to_layout(self, args: tuple) -> tuple:
        """Positional inputs in this signature's layout (channels-last where it was moved)."""
        return tuple(
            a.movedim(1, -1).contiguous() if i in self.channels_last else a
            for i, a in enumerate(args)
        )


def _channels_last_dims(dims: dict, rank: int) -> dict:
    """Dynamic dims of an input whose dim 1 moved last (NCHW -> NHWC)."""
    moved = {0: 0, 1: rank - 1} | {d: d - 1 for d in range(2, rank)}
    return {moved[d]: dim for d, dim in dims.items()}


# --- planning (no torch) -------------------------------------------------------------


def plan(cfg: DictConfig) -> list[SignaturePlan]:
    """The signatures of a recipe, checked; RecipeError names the bad field's config path."""
    top = _container(cfg.model)
    signatures = _container(cfg.signatures) or {DEFAULT_SIGNATURE: {}}
    plans = []
    for name, sig in signatures.items():
        base = f"signatures.{name}" if cfg.signatures else None
        model, model_path = (sig["model"], f"{base}.model") if sig.get("model") else (top, "model")
        wrapper, wrapper_path = _part(sig, "wrapper", base, model, model_path)
        inputs, inputs_path = _part(sig, "inputs", base, model, model_path)
        plans.append(
            SignaturePlan(name, model, model_path, wrapper, wrapper_path, inputs, inputs_path)
        )
    for p in plans:
        _check_model(p.model, p.model_path)
        _check_inputs(p.inputs, p.inputs_path)
    _check_layout(cfg, plans)
    return plans


def _part(sig: dict, key: str, base: str | None, model: dict, model_path: str):
    if sig.get(key) is not None:
        return sig[key], f"{base}.{key}"
    return model[key], f"{model_path}.{key}"


def _container(node) -> Any:
    return OmegaConf.to_container(node, resolve=True, enum_to_str=True)


def _check_model(model: dict, path: str) -> None:
    builder = model.get("builder")
    if not isinstance(builder, dict) or not isinstance(builder.get("_target_"), str):
        raise RecipeError(
            f"{path}.builder: expected a mapping with `_target_` (a zoo builder such as "
            f"model_zoo.build_torchvision, or an importable nn.Module class), got {builder!r}"
        )
    _import_target(builder["_target_"], f"{path}.builder._target_")
    weights = model.get("weights_path")
    if weights is not None and not Path(weights).is_file():
        raise RecipeError(
            f"{path}.weights_path: no such file {weights}. Point it at a local state_dict "
            "(.pt/.pth) or set it to null for the seeded init; weights are never downloaded."
        )


def _import_target(target: str, path: str) -> Any:
    module_name, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as error:
        raise RecipeError(f"{path}: cannot import {target!r} ({error})") from error


def _check_inputs(inputs: dict, path: str) -> None:
    for key in ("validation_data", "calibration_data"):
        if inputs.get(key) is not None:
            _check_target(inputs[key], f"{path}.{key}")
    file = inputs.get("file")
    if file is not None:
        if not Path(file).is_file():
            raise RecipeError(f"{path}.file: no such inputs file {file} (.npz or .pt expected)")
        if inputs.get("dims"):
            raise RecipeError(f"{path}.dims: dynamic dims need inputs described by {path}.args, "
                              "not stored in a file")
        return
    if not inputs.get("args") and not inputs.get("kwargs"):
        raise RecipeError(f"{path}: no sample inputs; give {path}.args (or kwargs, or file)")
    _check_dynamic(inputs, path)


def _dim_index(key: Any, where: str) -> int:
    try:
        return int(key)
    except ValueError:
        raise RecipeError(f"{where}: a dynamic dim is keyed by its index, e.g. {{0: batch}}") from None


def dynamic_dims(spec: dict) -> dict[int, str]:
    """An input spec's dynamic dims, index (>= 0) -> dim name."""
    rank = len(spec["shape"])
    return {int(key) % rank: name for key, name in (spec.get("dynamic") or {}).items()}


def _check_target(node: Any, path: str) -> None:
    if not isinstance(node, dict) or not isinstance(node.get("_target_"), str):
        raise RecipeError(f"{path}: expected a mapping with `_target_` (an importable callable), "
                          f"got {node!r}")
    _import_target(node["_target_"], f"{path}._target_")


def _check_dynamic(inputs: dict, path: str) -> None:
    """Every dynamic dim names an `inputs.dims` entry whose range holds the sample's size."""
    dims = inputs.get("dims") or {}
    for name, spec in (inputs.get("kwargs") or {}).items():
        if spec.get("dynamic"):
            raise RecipeError(f"{path}.kwargs.{name}.dynamic: only positional inputs "
                              f"({path}.args) can have dynamic dims")
    for i, spec in enumerate(inputs.get("args") or []):
        shape = spec["shape"]
        for key, name in (spec.get("dynamic") or {}).items():
            where = f"{path}.args.{i}.dynamic.{key}"
            dim = _dim_index(key, where)
            if not -len(shape) <= dim < len(shape):
                raise RecipeError(f"{where}: input {i} has {len(shape)} dims ({shape})")
            if name not in dims:
                raise RecipeError(f"{where}: no dim {name!r} in {path}.dims "
                                  f"(has {sorted(dims) or 'none'})")
            low, high = dims[name]["min"], dims[name]["max"]
            if high is not None and high < 2:
                raise RecipeError(f"{path}.dims.{name}: max {high} leaves nothing dynamic "
                                  "(torch.export needs dynamic dims of size >= 2 to be possible)")
            for size, what in [(shape[dim], "the sample's size"),
                               *[(v, "validate size") for v in dims[name]["validate"]]]:
                if size < low or (high is not None and size > high):
                    raise RecipeError(f"{path}.dims.{name}: {what} {size} is outside "
                                      f"[{low}, {high if high is not None else 'inf'}]")


def _check_layout(cfg: DictConfig, plans: list[SignaturePlan]) -> None:
    for key in ("inputs", "outputs"):
        if any(i < 0 for i in cfg.layout[key]):
            raise RecipeError(f"layout.{key}: indices must be >= 0, got {list(cfg.layout[key])}")
    for p in plans:
        count = len(p.inputs.get("args") or []) if p.inputs.get("file") is None else None
        bad = [i for i in cfg.layout.inputs if count is not None and i >= count]
        if bad:
            raise RecipeError(
                f"layout.inputs: input {bad[0]} does not exist; signature '{p.name}' has "
                f"{count} positional inputs ({p.inputs_path}.args)"
            )


# --- building (torch) ----------------------------------------------------------------


def build(plans: list[SignaturePlan], draws: InputDraws = InputDraws()) -> list[BuiltSignature]:
    """Instantiate, wrap and feed each signature; modules built from the same model node
    are built once and shared. Inputs stored in a file are one validation input."""
    modules: dict[str, Any] = {}
    built = []
    for p in plans:
        if p.model_path not in modules:
            modules[p.model_path] = instantiate_model(p.model, p.model_path)
        module = wrap(modules[p.model_path], p.wrapper, p.wrapper_path)

        def draw(seed: int, p=p) -> Inputs:
            return _draw_inputs(p.inputs, seed, path=p.inputs_path)

        validation_seeds = draws.validation_seeds
        if p.inputs.get("file") is not None:
            validation_seeds = validation_seeds[:1]
        validation_inputs = [draw(seed) for seed in validation_seeds]
        if validation_seeds:
            validation_inputs += _draw_resized(p.inputs, max(validation_seeds) + 1, p.inputs_path)
            validation_inputs += _input_sets(p.inputs, "validation_data", p.inputs_path)
        calibration_inputs = [draw(seed) for seed in draws.calibration_seeds]
        if calibration_inputs and p.inputs.get("calibration_data") is not None:
            calibration_inputs = _input_sets(p.inputs, "calibration_data", p.inputs_path)
        built.append(BuiltSignature(
            p.name, module, *draw(p.inputs["seed"]),
            validation_inputs=validation_inputs,
            calibration_inputs=calibration_inputs,
            dynamic_shapes=export_dynamic_shapes(p.inputs),
            export_args=_export_sample(p.inputs, p.inputs_path),
        ))
    return built


def _export_sample(inputs: dict, path: str) -> tuple | None:
    """The sample with its size-1 dynamic dims at 2 (same seed); None if it has none."""
    args = []
    for spec in inputs.get("args") or []:
        shape = list(spec["shape"])
        for index in dynamic_dims(spec):
            shape[index] = max(shape[index], 2)
        args.append({**spec, "shape": shape})
    if all(a["shape"] == list(s["shape"]) for a, s in zip(args, inputs.get("args") or [])):
        return None
    return _draw_inputs({**inputs, "args": args}, inputs["seed"], path)[0]


def export_dynamic_shapes(inputs: dict) -> tuple | None:
    """torch.export's dynamic_shapes for the positional inputs; None when all are static."""
    import torch

    specs = inputs.get("args") or []
    if not any(spec.get("dynamic") for spec in specs):
        return None
    dims = {name: torch.export.Dim(name, min=d["min"], max=d["max"])
            for name, d in (inputs.get("dims") or {}).items()}
    shapes = tuple(
        {dim: dims[name] for dim, name in dynamic_dims(spec).items()} or None
        for spec in specs
    )
    return (*shapes, *([None] * len(inputs.get("kwargs") or {})))


def _draw_resized(inputs: dict, first_seed: int, path: str) -> list[Inputs]:
    """One seeded draw per `dims.NAME.validate` size, every input with that dim resized."""
    draws = []
    seed = first_seed
    for name, dim in (inputs.get("dims") or {}).items():
        for size in dim["validate"]:
            args = []
            for spec in inputs.get("args") or []:
                shape = list(spec["shape"])
                for index, dim_name in dynamic_dims(spec).items():
                    if dim_name == name:
                        shape[index] = size
                args.append({**spec, "shape": shape})
            draws.append(_draw_inputs({**inputs, "args": args}, seed, path))
            seed += 1
    return draws


def _input_sets(inputs: dict, key: str, path: str) -> list[Inputs]:
    """The input sets `inputs[key]`'s callable returns, each a tuple of positional tensors."""
    if inputs.get(key) is None:
        return []
    from hydra.utils import instantiate

    sets = instantiate(inputs[key], _convert_="all")
    try:
        return [(tuple(s), {}) for s in sets]
    except TypeError as error:
        raise RecipeError(f"{path}.{key}: expected a list of input tuples, "
                          f"got {type(sets).__name__}") from error


def instantiate_model(model: dict, path: str):
    """Call the builder; pass `weights_path` to it when it takes one, else load it after."""
    import torch
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    import model_zoo

    builder = dict(model["builder"])
    weights = model.get("weights_path")
    target = _import_target(builder["_target_"], f"{path}.builder._target_")
    takes_weights = weights is not None and _accepts(target, "weights_path")
    if takes_weights:
        builder["weights_path"] = weights
    try:
        module = instantiate(builder, _convert_="all")
    except InstantiationException as error:
        cause = error.__cause__ or error
        if isinstance(cause, (TypeError, model_zoo.ZooError)):
            raise RecipeError(f"{path}.builder: {type(cause).__name__}: {cause}") from cause
        raise cause from None
    except model_zoo.ZooError as error:
        raise RecipeError(f"{path}.builder: {error}") from error
    if isinstance(module, tuple) and module and isinstance(module[0], torch.nn.Module):
        module = module[0]  # builders like model_zoo.build return (module, inputs)
    if not isinstance(module, torch.nn.Module):
        raise RecipeError(
            f"{path}.builder: {builder['_target_']} returned {type(module).__name__}, "
            "not a torch.nn.Module"
        )
    if weights is not None and not takes_weights:
        try:
            model_zoo.load_weights(module, weights)
        except model_zoo.ZooError as error:
            raise RecipeError(f"{path}.weights_path: {error}") from error
    return module.eval()


def _accepts(target, name: str) -> bool:
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def wrap(module, wrapper: dict, path: str):
    """Fixed extra args (innermost), then kwargs-to-positional, then output selection."""
    from model_zoo import FixedExtraArgs, KwargsToPositional, SelectOutput

    if wrapper.get("extra_args") or wrapper.get("extra_kwargs"):
        module = FixedExtraArgs(module, wrapper.get("extra_args") or (), wrapper.get("extra_kwargs"))
    if wrapper.get("kwargs_to_positional"):
        module = KwargsToPositional(module, wrapper["kwargs_to_positional"])
    if wrapper.get("select_output") is not None:
        module = SelectOutput(module, wrapper["select_output"])
    return module.eval()


def _draw_inputs(inputs: dict, seed: int, path: str = "inputs") -> tuple[tuple, dict]:
    import model_zoo

    arg_specs = list(inputs.get("args") or [])
    kwarg_specs = dict(inputs.get("kwargs") or {})
    try:
        if inputs.get("file") is not None:
            args = model_zoo.load_inputs(inputs["file"])
            drawn = model_zoo.make_inputs(list(kwarg_specs.values()), seed=seed)
        else:
            drawn = model_zoo.make_inputs(arg_specs + list(kwarg_specs.values()), seed=seed)
            args, drawn = drawn[: len(arg_specs)], drawn[len(arg_specs):]
    except (ValueError, model_zoo.ZooError) as error:
        raise RecipeError(f"{path}: {error}") from error
    return tuple(args), dict(zip(kwarg_specs, drawn))
