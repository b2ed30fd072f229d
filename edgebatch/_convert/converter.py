"""The conversion pipeline: torch.export → core ATen → lowering to TF → TFLite."""

from __future__ import annotations

import os
import sys
import time
import warnings
from dataclasses import asdict
from typing import Any

import torch

from edgebatch._convert import tflite
from edgebatch._convert.arguments import (
    check_converter_flags,
    check_module,
    check_quant_config,
    check_sample_inputs,
)
from edgebatch._convert.constant_size import check_constant_size
from edgebatch._convert.cost import CostMeter
from edgebatch._convert.export import export_module
from edgebatch._convert.passes.pipeline import run_pipeline
from edgebatch._convert.signature import (
    DEFAULT_SIGNATURE_NAME,
    Signature,
    input_names_and_values,
    none_outputs,
    output_names,
)
from edgebatch._convert.tf_graph import WeightStore, lower_program
from edgebatch._convert.training_mode import in_training_mode, training_only_nodes
from edgebatch.errors import InputError, LoweringError, TrainingModeError, UnsupportedOpError
from edgebatch.litert_compat import COMPILATION_BACKEND, check_convert_options
from edgebatch.model import TfLiteModel


class Converter:
    """Collects signatures, then converts them into one multi-signature flatbuffer."""

    def __init__(self):
        self._signatures: list[Signature] = []

    def signature(
        self,
        name: str,
        module: torch.nn.Module,
        sample_args=None,
        sample_kwargs: dict | None = None,
        *,
        dynamic_shapes: Any = None,
    ) -> "Converter":
        if any(s.name == name for s in self._signatures):
            raise InputError(
                f"signature '{name}' is defined twice; give each signature its own name")
        check_module(module)
        if sample_args is None and sample_kwargs is None:
            raise InputError(f"signature '{name}': give sample_args, sample_kwargs or both")
        if sample_args is None:
            sample_args = ()
        elif not isinstance(sample_args, (tuple, list)):
            sample_args = (sample_args,)
        sample_args, sample_kwargs = tuple(sample_args), dict(sample_kwargs or {})
        check_sample_inputs(name, sample_args, sample_kwargs)
        self._signatures.append(Signature(name, module, sample_args, sample_kwargs, dynamic_shapes))
        return self

    add_signature = signature  # litert_torch's name

    def experimental_add_compilation_backend(self, *args, **kwargs) -> "Converter":
        raise NotImplementedError(COMPILATION_BACKEND)

    def convert(
        self,
        module: torch.nn.Module | None = None,
        sample_args=None,
        sample_kwargs: dict | None = None,
        *,
        strict_export: bool | str = "auto",
        dynamic_shapes: Any = None,
        quant_config=None,
        output_file_path: str | os.PathLike | None = None,
        _ai_edge_converter_flags: dict | None = None,
        _litert_converter_flags: dict | None = None,
        **litert_options,
    ) -> TfLiteModel:
        check_convert_options(litert_options)
        if _litert_converter_flags is not None:  # litert_torch's name for the same flags
            if _ai_edge_converter_flags is not None:
                raise InputError("give _ai_edge_converter_flags or _litert_converter_flags, "
                                 "not both")
            _ai_edge_converter_flags = _litert_converter_flags
        if module is not None:
            self.signature(
                DEFAULT_SIGNATURE_NAME, module, sample_args, sample_kwargs,
                dynamic_shapes=dynamic_shapes,
            )
        if not self._signatures:
            raise InputError("nothing to convert: give a module or add a signature first")
        check_quant_config(quant_config)
        check_converter_flags(_ai_edge_converter_flags)
        flags = dict(_ai_edge_converter_flags or {})
        if quant_config is not None:
            flags = quant_config.converter_flags(flags)
        start = time.perf_counter()
        if quant_config is not None:
            quant_config.resolve_keep_float(self._signatures[0].module)
        cost = CostMeter()
        weights = WeightStore()
        lowered, pass_records = zip(*(
            _lower_signature(sig, weights, strict_export, cost) for sig in self._signatures
        ))
        if quant_config is not None:
            quant_config.record_lowering(lowered)
        with cost.stage("tflite"):
            flatbuffer = tflite.convert_functions([l.function for l in lowered], weights.trackable,
                                                  flags)
        hybrid_forms = {}
        with cost.stage("postprocess"):
            flatbuffer = tflite.canonical_flatbuffer(flatbuffer)
            if quant_config is not None:
                flatbuffer = quant_config.postprocess(flatbuffer)  # e.g. weight_only_int8
            if flags.get("optimizations"):  # dynamic-range quantization makes hybrid kernels
                from edgebatch.quantize.hybrid_kernels import choose_kernels

                policy = quant_config.hybrid_kernels if quant_config is not None else "auto"
                flatbuffer, hybrid_forms = choose_kernels(flatbuffer, policy)
        model = TfLiteModel(flatbuffer)
        model.report = {
            "conversion_seconds": time.perf_counter() - start,
            "stages": cost.report(),
            "select_tf_ops": tflite.uses_select_tf_ops(flags),
            "hybrid_kernels": hybrid_forms,
            "signatures": {
                l.name: {"inputs": l.input_names, "outputs": l.output_names} for l in lowered
            },
            "node_to_tf_name": {l.name: l.node_to_tf_name for l in lowered},
            "passes": {
                l.name: [asdict(r) for r in records] for l, records in zip(lowered, pass_records)
            },
        }
        if output_file_path is not None:
            model.export(output_file_path)
        return model


def _stacklevel_outside_package() -> int:
    """Stack level of the innermost caller outside edgebatch, so warnings point at user code."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package_dir):
        frame, level = frame.f_back, level + 1
    return level


def _lower_signature(sig: Signature, weights: WeightStore, strict_export, cost: CostMeter):
    training = in_training_mode(sig.module)
    if training:
        warnings.warn(
            f"signature '{sig.name}': {training} is in training mode; call .eval() first "
            "unless you mean to convert training behaviour (dropout, batch statistics).",
            stacklevel=_stacklevel_outside_package(),
        )
    with cost.stage("export"):
        program = export_module(
            sig.module, sig.sample_args, sig.sample_kwargs,
            dynamic_shapes=sig.dynamic_shapes, strict_export=strict_export,
        )
    check_constant_size(program, sig.name)
    outputs = _checked_output_names(sig, program)
    training_nodes = training_only_nodes(program)  # before the passes rewrite the graph
    try:
        with cost.stage("passes"):
            passes = run_pipeline(program)  # the FX passes, see passes/pipeline.py
        names = [name for name, _ in input_names_and_values(sig.sample_args, sig.sample_kwargs)]
        with cost.stage("lower"):
            return lower_program(program, sig.name, names, outputs, weights), passes
    except (UnsupportedOpError, LoweringError) as exc:
        if not (training and training_nodes):
            raise
        raise TrainingModeError(
            f"signature '{sig.name}': {training} is in training mode, and its training-only "
            f"ops ({', '.join(training_nodes[:3])}) do not convert; call module.eval() before "
            f"converting.\n{type(exc).__name__}: {exc}"
        ) from exc


def _checked_output_names(sig: Signature, program: torch.export.ExportedProgram) -> list[str]:
    names, dropped = output_names(program), none_outputs(program)
    if not names:
        raise InputError(
            f"signature '{sig.name}': {type(sig.module).__name__}.forward returns no tensor"
            f"{' (only None)' if dropped else ''}; a TFLite model needs at least one output. "
            "Return the tensors the model should compute."
        )
    if dropped:
        warnings.warn(
            f"signature '{sig.name}': outputs {dropped} are None; TFLite has no None outputs, "
            "so the converted model leaves them out.",
            stacklevel=_stacklevel_outside_package(),
        )
    return names


def signature(name: str, module: torch.nn.Module, sample_args=None, sample_kwargs=None, *,
              dynamic_shapes: Any = None) -> Converter:
    """Start a multi-signature conversion: `signature(...).signature(...).convert()`."""
    return Converter().signature(name, module, sample_args, sample_kwargs,
                                 dynamic_shapes=dynamic_shapes)


def convert(
    module: torch.nn.Module,
    sample_args=None,
    sample_kwargs: dict | None = None,
    *,
    strict_export: bool | str = "auto",
    dynamic_shapes: Any = None,
    quant_config=None,
    output_file_path: str | os.PathLike | None = None,
    _ai_edge_converter_flags: dict | None = None,
    _litert_converter_flags: dict | None = None,
    **litert_options,
) -> TfLiteModel:
    """Convert one module to a TFLite model with the `serving_default` signature.

    `litert_options` takes litert_torch's other convert options at the values that
    describe edgebatch (see edgebatch/litert_compat.py)."""
    return Converter().convert(
        module, sample_args, sample_kwargs,
        strict_export=strict_export, dynamic_shapes=dynamic_shapes,
        quant_config=quant_config, output_file_path=output_file_path,
        _ai_edge_converter_flags=_ai_edge_converter_flags,
        _litert_converter_flags=_litert_converter_flags, **litert_options,
    )
