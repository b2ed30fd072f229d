"""The stages of a job, each a function over one `JobState`.

recipe (resolve and check the config) → build (modules and every input set, drawn once)
→ layout → quantize → convert → validate → benchmark → register. A stage reads what it
needs from the state and adds its own typed part of the result; none calls back into the
recipe. `PIPELINE` lists them with the condition under which each runs.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from edgebatch.memory import PeakRss
from edgebatch.batch.job_key import job_key
from edgebatch.batch.result import (
    RESULT_FILE, ArtifactRecord, Benchmark, Conversion, DelegateCoverage, Errors, JobResult,
    ModelSummary, Quantization, TaskAccuracy, Validation,
)
from edgebatch.errors import RecipeError, ValidationError

log = logging.getLogger("edgebatch.batch")

TFLITE_FILE = "model.tflite"  # written into the job directory when the registry is off
BENCHMARK_LOCK = "benchmark.lock"  # under paths.root: parallel jobs take turns timing


@dataclass
class JobState:
    """Everything a job has so far: its config and result, then what each stage adds."""

    cfg: DictConfig
    result: JobResult
    out_dir: Path
    plans: list = field(default_factory=list)  # recipe.build.SignaturePlan, one per signature
    signatures: list = field(default_factory=list)  # recipe.build.BuiltSignature
    quant_config: Any = None  # what convert takes (edgebatch.quantize.QuantConfig)
    model: Any = None  # the converted edgebatch.TfLiteModel

    @property
    def quantized(self) -> bool:
        return self.cfg.quant.kind.value != "none"


def resolved_config(cfg: DictConfig) -> dict:
    """The job's config as plain data: interpolations resolved, enums as strings, no hydra node."""
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    config.pop("hydra", None)
    return config


def plan(state: JobState) -> None:
    """Resolve the config and check it before any work."""
    from edgebatch.recipe import build
    from edgebatch.recipe.checks import check_values

    cfg, result = state.cfg, state.result
    try:
        result.config = resolved_config(cfg)
    except Exception as error:  # an interpolation that does not resolve
        raise RecipeError(f"the config does not resolve: {error}") from error
    result.name = result.config["artifact_name"]
    result.job_key = job_key(result.config)
    check_values(cfg)
    state.plans = build.plan(cfg)
    if cfg.quant.kind.value == "preset" and cfg.quant.preset is None:
        raise RecipeError("quant.preset: quant.kind=preset needs a preset "
                          "(fp16, drq, int8, weight_only_int8)")


def build_signatures(state: JobState) -> None:
    """Modules, wrappers and every input set: the sample, validation inputs (seed
    `validation.seed + i`) and calibration batches (seed `calibration.seed + i`)."""
    import torch

    from edgebatch.recipe import build

    cfg = state.cfg
    torch.manual_seed(0)
    draws = build.InputDraws(
        validation_seeds=tuple(cfg.validation.seed + i for i in range(cfg.validation.n_inputs))
        if cfg.validation.enabled else (),
        calibration_seeds=tuple(cfg.quant.calibration.seed + i
                                for i in range(cfg.quant.calibration.batches))
        if _calibrates(cfg) else (),
    )
    state.signatures = build.build(state.plans, draws)


def _calibrates(cfg: DictConfig) -> bool:
    kind = cfg.quant.kind.value
    return kind == "pt2e" or (kind == "preset" and cfg.quant.preset.value == "int8")


def layout(state: JobState) -> None:
    from edgebatch.layout import to_channel_last_io

    inputs, outputs = list(state.cfg.layout.inputs), list(state.cfg.layout.outputs)
    for sig in state.signatures:
        sig.module = to_channel_last_io(sig.module, args=inputs, outputs=outputs)
        sig.set_channels_last(tuple(inputs))


def quantize(state: JobState) -> None:
    from edgebatch.batch.quantization import quantize as quantize_signatures

    state.quant_config, settings = quantize_signatures(state.signatures, state.cfg.quant)
    state.result.quantization = Quantization.model_validate(settings)


def convert(state: JobState) -> None:
    from edgebatch.delegate_coverage import delegate_coverage
    from edgebatch.flatbuffer_summary import summarize

    cfg, result = state.cfg, state.result
    start = time.perf_counter()
    with PeakRss() as peak:
        state.model = _convert(state, [sig.module for sig in state.signatures],
                               state.quant_config)
    result.conversion = Conversion(seconds=round(time.perf_counter() - start, 3),
                                   peak_rss_mb=round(peak.mb, 1),
                                   stages=state.model.report["stages"])
    if state.quant_config is not None and result.quantization is not None:
        from edgebatch.batch.quantization import kept_float

        kept, auto = kept_float(state.quant_config)
        if kept is not None:
            result.quantization.kept_float = kept
            result.quantization.keep_float_auto = auto
            log.info("[%s] kept float: %s", cfg.artifact_name, ", ".join(kept) or "nothing")
    result.model = info = ModelSummary.model_validate(summarize(state.model.flatbuffer).as_dict())
    log.info("[%s] %.2f MB, %d ops, %d TRANSPOSE, %d int8 weight tensors", cfg.artifact_name,
             info.size_bytes / 1e6, info.num_ops, info.transposes, info.int8_weights)
    result.delegate = coverage = DelegateCoverage.model_validate(
        delegate_coverage(state.model.flatbuffer).as_dict())
    if coverage.not_delegated:
        log.warning("[%s] XNNPACK leaves %s to LiteRT's kernels (%d partitions)",
                    cfg.artifact_name, ", ".join(f"{n.count} {n.op} ({n.form})"
                                                 for n in coverage.not_delegated),
                    coverage.partitions)


def _convert(state: JobState, modules: list, quant_config):
    """Convert the job's signatures with these modules (one per signature)."""
    import edgebatch

    cfg = state.cfg
    converter = edgebatch.Converter()
    for sig, module in zip(state.signatures, modules):
        converter.signature(sig.name, module, sig.export_sample, sig.kwargs,
                            dynamic_shapes=sig.dynamic_shapes)
    flags = _converter_flags(OmegaConf.to_container(cfg.convert.converter_flags, resolve=True))
    return converter.convert(strict_export=cfg.convert.strict_export, quant_config=quant_config,
                             _ai_edge_converter_flags=flags or None)


def _converter_flags(flags: Any) -> Any:
    """Strings 'tf.lite.X.Y' become the TensorFlow constant they name (recursively)."""
    if isinstance(flags, dict):
        return {k: _converter_flags(v) for k, v in flags.items()}
    if isinstance(flags, list):
        return [_converter_flags(v) for v in flags]
    if isinstance(flags, str) and flags.startswith("tf."):
        from edgebatch._imports import tensorflow

        value = tensorflow()
        try:
            for part in flags.split(".")[1:]:
                value = getattr(value, part)
        except AttributeError as error:
            raise RecipeError(f"convert.converter_flags: no TensorFlow constant {flags}") from error
        return value
    return flags


def validation_tolerance(state: JobState):
    """The recipe's tolerance: `quant.tolerance` for a quantized model, else `validation`'s."""
    from edgebatch.batch.validate import Tolerance

    node = state.cfg.quant.tolerance if state.quantized else state.cfg.validation
    return Tolerance(node.atol, node.rtol, node.min_cosine)


def validate(state: JobState) -> None:
    import torch

    from edgebatch.batch import validate as v

    cfg, result, signatures, model = state.cfg, state.result, state.signatures, state.model
    quantized = state.quantized
    vcfg = cfg.validation
    tol = validation_tolerance(state)
    input_sets = [sig.validation_inputs for sig in signatures]

    def torch_fn(module):
        def run(*args, **kwargs):
            with torch.no_grad():
                return v.reference_outputs(module(*args, **kwargs))
        return run

    def tflite_fn(name):
        run = _run_converted(state, name)
        return lambda *args, **kwargs: v.converted_outputs(run(*args, **kwargs))

    float_vs_tflite = Validation.model_validate(v.compare(
        [(s.name, torch_fn(s.reference_module), tflite_fn(s.name)) for s in signatures],
        input_sets, tol, min_std=vcfg.degenerate_std,
    ))
    result.validation = float_vs_tflite
    if quantized:
        from edgebatch.batch.quantization import op_kinds

        quantization = result.quantization
        quantization.op_kinds = op_kinds(model.flatbuffer)
        quantization.float_vs_tflite = _brief(float_vs_tflite)
        if any(s.float_module is not None for s in signatures):
            # PyTorch holds a quantized model too: split quantization from conversion error
            quantization.float_vs_quantized = _brief(v.compare(
                [(s.name, torch_fn(s.float_module), torch_fn(s.module)) for s in signatures],
                input_sets, tol))
            quantization.quantized_pytorch_vs_tflite = _brief(v.compare(
                [(s.name, torch_fn(s.module), tflite_fn(s.name)) for s in signatures],
                input_sets, tol))
    log.info("[%s] validation: rel error %.3g, max abs %.3g, cosine %.6f over %d inputs → %s",
             cfg.artifact_name, float_vs_tflite.rel_error, float_vs_tflite.max_abs,
             float_vs_tflite.cosine, float_vs_tflite.n_inputs,
             "PASS" if float_vs_tflite.passed else "FAIL")
    if not float_vs_tflite.passed:
        outputs = float_vs_tflite.outputs
        failing = [k for k, m in outputs.items() if not m.passed]
        worst = outputs[failing[0]]
        cosine = f", cosine {worst.cosine:.6f} < {tol.min_cosine}" if (
            tol.min_cosine is not None and worst.cosine < tol.min_cosine) else ""
        raise ValidationError(
            f"output '{failing[0]}' differs from PyTorch: max abs error {worst.max_abs:.3g} > "
            f"atol {tol.atol:g} + rtol {tol.rtol:g} × max|ref| {worst.max_ref:.3g}"
            f" (relative error {worst.rel_error:.3g}){cosine}; "
            f"{len(failing)} of {len(outputs)} outputs fail"
        )


def _run_converted(state: JobState, signature: str) -> Callable:
    """Call one signature of the converted model as PyTorch's module is called."""
    model = state.model
    if state.quantized and state.cfg.quant.int8_io:
        from edgebatch.batch.quantization import run_int8_io

        return run_int8_io(model, signature)
    return lambda *args, **kwargs: model(*args, signature_name=signature, **kwargs)


def task_accuracy(state: JobState) -> None:
    """Top-1 accuracy of PyTorch's float model, its quantized model if any, and the
    converted model on `validation.task`'s labelled data (first signature, first output)."""
    import torch

    from edgebatch.batch import task, validate as v

    node = state.cfg.validation.task
    spec = OmegaConf.to_container(node, resolve=True, enum_to_str=True)
    inputs, labels = task.load_labelled(spec)
    sig = state.signatures[0]

    def first_output(outputs: dict):
        return outputs["output_0"] if "output_0" in outputs else next(iter(outputs.values()))

    def batch_args(batch) -> tuple:
        return sig.to_layout((torch.from_numpy(batch),))

    def pytorch(module):
        def predict(batch):
            with torch.no_grad():
                return first_output(v.reference_outputs(module(*batch_args(batch))))
        return predict

    run = _run_converted(state, sig.name)

    def converted(batch):
        return first_output(v.converted_outputs(run(*batch_args(batch))))

    def score(predict) -> float:
        return task.top1(predict, inputs, labels, node.batch_size)

    accuracy = TaskAccuracy(
        metric=spec["metric"], n_samples=len(labels), pytorch=score(pytorch(sig.reference_module)),
        pytorch_quantized=score(pytorch(sig.module)) if sig.float_module is not None else None,
        tflite=score(converted), max_drop=node.max_drop, passed=True,
    )
    accuracy.passed = node.max_drop is None or accuracy.drop <= node.max_drop
    state.result.task = accuracy
    log.info("[%s] task %s on %d samples: PyTorch %.4f, converted %.4f", state.cfg.artifact_name,
             accuracy.metric, accuracy.n_samples, accuracy.pytorch, accuracy.tflite)
    if not accuracy.passed:
        raise ValidationError(
            f"{accuracy.metric} accuracy {accuracy.tflite:.4f} is {accuracy.drop:.4f} below "
            f"PyTorch's {accuracy.pytorch:.4f} (validation.task.max_drop {node.max_drop:g})")


def _brief(summary: dict | Validation) -> Errors:
    """The worst-output figures of a comparison, without the per-output details."""
    data = summary.model_dump() if isinstance(summary, Validation) else summary
    return Errors.model_validate({k: data[k] for k in Errors.model_fields})


def benchmark(state: JobState) -> None:
    from edgebatch.batch.benchmark import benchmark as time_model, exclusive
    from edgebatch.batch.environment import host

    cfg, first = state.cfg, state.signatures[0]
    float_flatbuffer = None
    if state.quantized and cfg.benchmark.compare_float:
        from edgebatch.batch.float_model import cached_float_model

        float_flatbuffer, cached = cached_float_model(
            Path(cfg.paths.root), state.result.config,
            lambda: _convert(state, [sig.reference_module for sig in state.signatures],
                             None).flatbuffer)
        log.info("[%s] float model to time against: %s", cfg.artifact_name,
                 "converted before in this run root" if cached else "converted")
    lock = Path(cfg.paths.root) / BENCHMARK_LOCK if cfg.benchmark.exclusive else None
    with exclusive(lock):
        timings = time_model(
            state.model.flatbuffer, first.name, first.args, first.kwargs,
            threads=list(cfg.benchmark.threads), warmup=cfg.benchmark.warmup,
            runs=cfg.benchmark.runs, float_flatbuffer=float_flatbuffer,
        )
    state.result.benchmark = timing = Benchmark.model_validate({**timings, "host": host()})
    for warning in timing.warnings:
        log.warning("[%s] %s", cfg.artifact_name, warning)


def register(state: JobState) -> None:
    state.result.artifact = _register(state.cfg, state.model, state.result, state.out_dir)


def _register(cfg: DictConfig, model, result: JobResult, out_dir: Path) -> ArtifactRecord:
    sha256 = hashlib.sha256(model.flatbuffer).hexdigest()
    if not cfg.registry.enabled:
        path = model.export(out_dir / TFLITE_FILE)
        return ArtifactRecord(name=cfg.artifact_name, version=None, sha256=sha256, path=str(path))
    from edgebatch.registry import Registry

    artifact = Registry(cfg.registry.root, url=cfg.registry.url).put(
        cfg.artifact_name, model.flatbuffer, recipe=result.config,
        metrics=result.flat_metrics(), tool_versions=result.tool_versions,
        run_id=result.ensure_run_id(),
        report_paths={"markdown": out_dir / "report.md", "html": out_dir / "report.html",
                      "result": out_dir / RESULT_FILE},
    )
    if artifact.unchanged:
        log.info("[%s] unchanged: same bytes as %s (sha256 %s), no new version",
                 cfg.artifact_name, artifact.ref, sha256[:12])
    else:
        log.info("[%s] registered %s (sha256 %s)", cfg.artifact_name, artifact.ref, sha256[:12])
    return ArtifactRecord(name=artifact.name, version=artifact.version, sha256=artifact.sha256,
                          path=str(artifact.path), unchanged=artifact.unchanged)


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[JobState], None]
    applies: Callable[[DictConfig], bool] = lambda cfg: True


PIPELINE = (
    Stage("recipe", plan),
    Stage("build", build_signatures),
    Stage("layout", layout, lambda cfg: bool(cfg.layout.inputs or cfg.layout.outputs)),
    Stage("quantize", quantize, lambda cfg: cfg.quant.kind.value != "none"),
    Stage("convert", convert),
    Stage("validate", validate, lambda cfg: cfg.validation.enabled),
    Stage("task", task_accuracy,
          lambda cfg: cfg.validation.enabled and cfg.validation.task is not None),
    Stage("benchmark", benchmark, lambda cfg: cfg.benchmark.enabled),
    Stage("register", register),
)
