"""One job: recipe → build → layout → quantize → convert → validate → benchmark → register → report.

`run_job(cfg, out_dir)` never raises for a failing model: the result records the stage
that failed, the error class and a stable error signature, and the job's directory
still gets result.json, the resolved config.yaml and the report. Each stage logs its
start and its duration, so a long suite shows where it is.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from edgebatch.batch.environment import PeakRss, tool_versions
from edgebatch.batch.failures import error_record
from edgebatch.batch.job_key import job_key
from edgebatch.errors import RecipeError, ValidationError

log = logging.getLogger("edgebatch.batch")

RESULT_FILE = "result.json"
RUNNING = "running"  # status in result.json while the job's stages run
CONFIG_FILE = "config.yaml"
TFLITE_FILE = "model.tflite"  # written into the job directory when the registry is off
BENCHMARK_LOCK = "benchmark.lock"  # under paths.root: parallel jobs take turns timing


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Stages:
    """Times each stage, logs progress, and remembers which stage was running;
    `on_start(stage)` is called as each stage begins."""

    def __init__(self, name: str, on_start: Callable[[str], None] = lambda stage: None):
        self.name = name
        self.start = time.perf_counter()
        self.current: str | None = None
        self.timings: dict[str, float] = {}
        self._on_start = on_start

    @contextmanager
    def stage(self, stage: str):
        self.current = stage
        self._on_start(stage)
        log.info("[%s] %s ...", self.name, stage)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = round(time.perf_counter() - start, 3)
        log.info("[%s] %s done in %.1f s (job %.1f s)", self.name, stage,
                 self.timings[stage], self.elapsed)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


def resolved_config(cfg: DictConfig) -> dict:
    """The job's config as plain data: interpolations resolved, enums as strings, no hydra node."""
    config = OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    config.pop("hydra", None)
    return config


def new_result(recipe: str | None) -> dict[str, Any]:
    """A job's result before its first stage: status failed until the job says otherwise."""
    return {
        "name": None, "recipe": recipe, "status": "failed", "stage": None, "error": None,
        "job_key": None, "config": None, "conversion": None, "model": None, "validation": None,
        "quantization": None, "benchmark": None, "artifact": None, "timings": {},
        "tool_versions": tool_versions(), "started_at": now_iso(), "finished_at": None,
    }


def run_job(cfg: DictConfig, out_dir: str | Path, *, recipe: str | None = None) -> dict:
    """Run one job and write its outputs into `out_dir`; return the result dict.

    As each stage starts, result.json says `status: running` and names the stage, so a
    job whose process dies (a crash, a limit, a killed suite) still tells where it was.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = new_result(recipe)

    def mark_running(stage: str) -> None:
        write_result({**result, "status": RUNNING, "stage": stage}, out_dir)

    stages = Stages(recipe or "job", on_start=mark_running)
    try:
        with stages.stage("recipe"):
            plans = _plan(cfg, result, stages)
        _run_stages(cfg, plans, result, stages, out_dir)
        result["status"] = "ok"
    except Exception as error:  # a failing model must never stop the other jobs
        result["stage"] = stages.current
        result["error"] = error_record(error)
        log.error("[%s] FAILED at %s: %s: %s", stages.name, stages.current,
                  type(error).__name__, _first_line(error))
        log.debug("traceback", exc_info=True)
    result["timings"] = stages.timings
    result["finished_at"] = now_iso()
    finish(cfg, result, out_dir)
    log.info("[%s] %s in %.1f s → %s", result["name"] or stages.name, result["status"].upper(),
             stages.elapsed, out_dir)
    return result


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else repr(error)


def _plan(cfg: DictConfig, result: dict, stages: Stages):
    """The recipe stage: resolve the config and check it before any work."""
    from edgebatch.recipe import build
    from edgebatch.recipe.checks import check_values

    try:
        result["config"] = resolved_config(cfg)
    except Exception as error:  # an interpolation that does not resolve
        raise RecipeError(f"the config does not resolve: {error}") from error
    result["name"] = stages.name = result["config"]["artifact_name"]
    result["job_key"] = job_key(result["config"])
    check_values(cfg)
    plans = build.plan(cfg)
    if cfg.quant.kind.value == "preset" and cfg.quant.preset is None:
        raise RecipeError("quant.preset: quant.kind=preset needs a preset "
                          "(fp16, drq, int8, weight_only_int8)")
    return plans


def _run_stages(cfg: DictConfig, plans, result: dict, stages: Stages, out_dir: Path) -> None:
    import torch

    from edgebatch.recipe import build

    quant_kind = cfg.quant.kind.value
    torch.manual_seed(0)
    with stages.stage("build"):
        signatures = build.build(plans)

    layout = cfg.layout
    if layout.inputs or layout.outputs:
        with stages.stage("layout"):
            _apply_layout(signatures, list(layout.inputs), list(layout.outputs))

    quant_config = None
    if quant_kind != "none":
        with stages.stage("quantize"):
            from edgebatch.batch.quantization import quantize

            quant_config, result["quantization"] = quantize(signatures, cfg.quant)

    with stages.stage("convert"):
        model = _convert(cfg, signatures, quant_config, result)

    if cfg.validation.enabled:
        with stages.stage("validate"):
            _validate(cfg, signatures, model, result, quantized=quant_kind != "none")

    if cfg.benchmark.enabled:
        with stages.stage("benchmark"):
            from edgebatch.batch.benchmark import benchmark, exclusive

            first = signatures[0]
            lock = Path(cfg.paths.root) / BENCHMARK_LOCK if cfg.benchmark.exclusive else None
            with exclusive(lock):
                result["benchmark"] = benchmark(
                    model.flatbuffer, first.name, first.args, first.kwargs,
                    threads=list(cfg.benchmark.threads), warmup=cfg.benchmark.warmup,
                    runs=cfg.benchmark.runs,
                )

    with stages.stage("register"):
        result["artifact"] = _register(cfg, model, result, out_dir)


def _apply_layout(signatures, inputs: list[int], outputs: list[int]) -> None:
    from edgebatch.layout import to_channel_last_io

    for sig in signatures:
        sig.module = to_channel_last_io(sig.module, args=inputs, outputs=outputs)
        sig.set_channels_last(tuple(inputs))


def _convert(cfg: DictConfig, signatures, quant_config, result: dict):
    import edgebatch
    from edgebatch.inspect import summarize

    converter = edgebatch.Converter()
    for sig in signatures:
        converter.signature(sig.name, sig.module, sig.args, sig.kwargs)
    flags = _converter_flags(OmegaConf.to_container(cfg.convert.converter_flags, resolve=True))
    start = time.perf_counter()
    with PeakRss() as peak:
        model = converter.convert(
            strict_export=cfg.convert.strict_export, quant_config=quant_config,
            _ai_edge_converter_flags=flags or None,
        )
    result["conversion"] = {"seconds": round(time.perf_counter() - start, 3),
                            "peak_rss_mb": round(peak.mb, 1)}
    result["model"] = summarize(model.flatbuffer).as_dict()
    model_info = result["model"]
    log.info("[%s] %.2f MB, %d ops, %d TRANSPOSE, %d int8 weight tensors",
             cfg.artifact_name, model_info["size_bytes"] / 1e6, model_info["num_ops"],
             model_info["transposes"], model_info["int8_weights"])
    return model


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


def _validate(cfg: DictConfig, signatures, model, result: dict, *, quantized: bool) -> None:
    import torch

    from edgebatch.batch import validate as v

    vcfg = cfg.validation
    tol_cfg = cfg.quant.tolerance if quantized else vcfg
    tol = v.Tolerance(tol_cfg.atol, tol_cfg.rtol, tol_cfg.min_cosine)
    input_sets = []
    for sig in signatures:
        count = 1 if sig.inputs.get("file") is not None else vcfg.n_inputs
        input_sets.append([sig.draw(vcfg.seed + i) for i in range(count)])

    def torch_fn(module):
        def run(*args, **kwargs):
            with torch.no_grad():
                return v.reference_outputs(module(*args, **kwargs))
        return run

    def tflite_fn(name):
        if quantized and cfg.quant.int8_io:
            from edgebatch.batch.quantization import run_int8_io

            return lambda *a, **k: v.converted_outputs(run_int8_io(model, name)(*a, **k))
        return lambda *args, **kwargs: v.converted_outputs(model(*args, signature_name=name, **kwargs))

    float_vs_tflite = v.compare(
        [(s.name, torch_fn(s.reference_module), tflite_fn(s.name)) for s in signatures],
        input_sets, tol, min_std=vcfg.degenerate_std,
    )
    result["validation"] = float_vs_tflite
    if quantized:
        from edgebatch.batch.quantization import op_kinds

        comparisons = {"op_kinds": op_kinds(model.flatbuffer),
                       "float_vs_tflite": _brief(float_vs_tflite)}
        if any(s.float_module is not None for s in signatures):
            # PyTorch holds a quantized model too: split quantization from conversion error
            comparisons["float_vs_quantized"] = _brief(v.compare(
                [(s.name, torch_fn(s.float_module), torch_fn(s.module)) for s in signatures],
                input_sets, tol))
            comparisons["quantized_pytorch_vs_tflite"] = _brief(v.compare(
                [(s.name, torch_fn(s.module), tflite_fn(s.name)) for s in signatures],
                input_sets, tol))
        result["quantization"] = {**(result["quantization"] or {}), **comparisons}
    log.info("[%s] validation: rel error %.3g, max abs %.3g, cosine %.6f over %d inputs → %s",
             cfg.artifact_name, float_vs_tflite["rel_error"], float_vs_tflite["max_abs"],
             float_vs_tflite["cosine"], float_vs_tflite["n_inputs"],
             "PASS" if float_vs_tflite["passed"] else "FAIL")
    if not float_vs_tflite["passed"]:
        failing = [k for k, m in float_vs_tflite["outputs"].items() if not m["passed"]]
        worst = float_vs_tflite["outputs"][failing[0]]
        cosine = f", cosine {worst['cosine']:.6f} < {tol.min_cosine}" if (
            tol.min_cosine is not None and worst["cosine"] < tol.min_cosine) else ""
        raise ValidationError(
            f"output '{failing[0]}' differs from PyTorch: max abs error {worst['max_abs']:.3g} > "
            f"atol {tol.atol:g} + rtol {tol.rtol:g} × max|ref| {worst['max_ref']:.3g}"
            f" (relative error {worst['rel_error']:.3g}){cosine}; "
            f"{len(failing)} of {len(float_vs_tflite['outputs'])} outputs fail"
        )


def _brief(summary: dict) -> dict:
    return {k: summary[k] for k in ("max_abs", "mean_abs", "rel_error", "rmse", "cosine", "passed")}


def flat_metrics(result: dict) -> dict[str, float | int | str | None]:
    """The scalar metrics stored with an artifact and compared by the nightly regression."""
    model = result.get("model") or {}
    validation = result.get("validation") or {}
    conversion = result.get("conversion") or {}
    metrics: dict[str, Any] = {
        key: model.get(key) for key in ("size_bytes", "num_ops", "transposes", "gather_nd",
                                        "int8_weights")
    }
    metrics |= {key: validation.get(key) for key in ("max_abs", "mean_abs", "rel_error", "rmse",
                                                    "cosine")}
    metrics["conversion_seconds"] = conversion.get("seconds")
    metrics["peak_rss_mb"] = conversion.get("peak_rss_mb")
    for threads, stats in ((result.get("benchmark") or {}).get("threads") or {}).items():
        metrics[f"latency_ms_{threads}t"] = stats.get("median_ms")
    return metrics


def _register(cfg: DictConfig, model, result: dict, out_dir: Path) -> dict:
    import hashlib

    sha256 = hashlib.sha256(model.flatbuffer).hexdigest()
    if not cfg.registry.enabled:
        path = model.export(out_dir / TFLITE_FILE)
        return {"name": cfg.artifact_name, "version": None, "sha256": sha256, "path": str(path)}
    from edgebatch.registry import Registry

    artifact = Registry(cfg.registry.root).put(
        cfg.artifact_name, model.flatbuffer, recipe=result["config"],
        metrics=flat_metrics(result), tool_versions=result["tool_versions"],
        run_id=_run_id(result),
        report_paths={"markdown": out_dir / "report.md", "html": out_dir / "report.html",
                      "result": out_dir / RESULT_FILE},
    )
    if artifact.unchanged:
        log.info("[%s] unchanged: same bytes as %s (sha256 %s), no new version",
                 cfg.artifact_name, artifact.ref, sha256[:12])
    else:
        log.info("[%s] registered %s (sha256 %s)", cfg.artifact_name, artifact.ref, sha256[:12])
    return {"name": artifact.name, "version": artifact.version, "sha256": artifact.sha256,
            "path": str(artifact.path), "unchanged": artifact.unchanged}


def _run_id(result: dict) -> str:
    if "run_id" not in result:
        result["run_id"] = f"{result['name'] or 'job'}-{uuid.uuid4().hex[:12]}"
    return result["run_id"]


def finish(cfg: DictConfig, result: dict, out_dir: Path) -> None:
    """Record the run, write result.json and config.yaml, then the report; problems here
    are logged and never turn a finished job into a crash."""
    if cfg.registry.enabled and result["name"]:
        try:
            from edgebatch.registry import Registry

            artifact = result.get("artifact") or {}
            Registry(cfg.registry.root).record_run(
                _run_id(result), result["name"], status=result["status"], stage=result["stage"],
                error_class=(result["error"] or {}).get("class"),
                error_signature=(result["error"] or {}).get("signature"),
                error_message=(result["error"] or {}).get("message"),
                artifact_version=artifact.get("version"), started_at=result["started_at"],
                finished_at=result["finished_at"], config=result["config"] or {},
            )
        except Exception as error:
            log.warning("[%s] could not record the run in the registry: %s", result["name"], error)
    config = result["config"]
    if config is None:  # the config did not resolve: keep it unresolved
        config = OmegaConf.to_container(cfg, resolve=False)
        config.pop("hydra", None)
    (out_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    write_result(result, out_dir)
    if cfg.report.enabled:
        start = time.perf_counter()
        try:
            from edgebatch.report import write_job_report

            paths = write_job_report(result, out_dir)
            result["report"] = {k: str(p) for k, p in paths.items()}
        except Exception as error:
            log.warning("[%s] could not write the report: %s: %s", result["name"],
                        type(error).__name__, error)
        result["timings"]["report"] = round(time.perf_counter() - start, 3)
        write_result(result, out_dir)


def write_result(result: dict, out_dir: Path) -> Path:
    path = out_dir / RESULT_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2, default=_json_default))
    tmp.replace(path)
    return path


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    return str(value)
