"""One job in process: the result schema, the registry records, and each kind of failure."""

from __future__ import annotations

import ast
import hashlib
import json

import pytest
import yaml

from edgebatch.batch.failures import error_signature
from edgebatch.batch.job import run_job
from edgebatch.errors import UnsupportedOpError
from edgebatch.registry import Registry
from tests.recipe.compose import compose_config

RESULT_KEYS = {
    "name", "recipe", "status", "stage", "error", "config", "conversion", "model", "validation",
    "quantization", "benchmark", "artifact", "timings", "tool_versions", "started_at", "finished_at",
}
FAST = ["validation.n_inputs=2", "benchmark.threads=[1]", "benchmark.warmup=1", "benchmark.runs=2"]


def run(tmp_path, recipe, *overrides, job="job"):
    cfg = compose_config([f"+recipe={recipe}", f"paths.root={tmp_path}", *FAST, *overrides])
    return run_job(cfg, tmp_path / job, recipe=recipe).to_dict(), tmp_path / job  # as on disk


def user_module(target: str, shape: str = "[1,8]") -> list[str]:
    return ["model=user", "model.name=user_module", f"model.builder={{_target_: {target}}}",
            f"model.inputs.args=[{{shape: {shape}}}]"]


def test_successful_job_writes_result_config_report_and_registers(tmp_path):
    result, out = run(tmp_path, "tiny_cnn")
    assert result["status"] == "ok", result["error"]
    assert RESULT_KEYS <= set(result)
    assert result["stage"] is None and result["error"] is None
    assert result["validation"]["passed"] and result["validation"]["n_inputs"] == 2
    assert {"max_abs", "mean_abs", "rel_error", "rmse", "cosine", "atol", "rtol"} <= set(result["validation"])
    assert result["model"]["num_ops"] > 0 and result["model"]["size_bytes"] > 0
    assert set(result["benchmark"]["threads"]) == {"1"}
    assert {"median_ms", "p90_ms", "runs"} <= set(result["benchmark"]["threads"]["1"])
    assert result["conversion"]["seconds"] > 0 and result["conversion"]["peak_rss_mb"] > 0
    assert {"recipe", "build", "convert", "validate", "benchmark", "register", "report"} <= set(result["timings"])
    assert result["tool_versions"]["torch"] and result["tool_versions"]["tensorflow"]

    on_disk = json.loads((out / "result.json").read_text())
    assert on_disk["status"] == "ok" and on_disk["artifact"] == result["artifact"]
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["registry"]["root"] == f"{tmp_path}/registry"  # resolved, next to the result
    assert (out / "report.md").is_file() and (out / "report.html").is_file()

    registry = Registry(tmp_path / "registry")
    artifact = registry.get("tiny_cnn")
    assert (artifact.version, artifact.sha256) == (1, result["artifact"]["sha256"])
    assert artifact.metrics["num_ops"] == result["model"]["num_ops"]
    assert artifact.metrics["latency_ms_1t"] == result["benchmark"]["threads"]["1"]["median_ms"]
    assert registry.last_good("tiny_cnn").artifact_version == 1


def test_conversion_failure_records_stage_class_and_signature(tmp_path):
    result, out = run(tmp_path, "tiny_cnn", *user_module("tests.batch.modules.Unconvertible"))
    assert (result["status"], result["stage"]) == ("failed", "convert")
    assert result["error"]["class"] == "UnsupportedOpError"
    assert "aten.digamma" in result["error"]["message"]
    assert result["error"]["signature"] == error_signature(
        UnsupportedOpError("aten.digamma.default", None, "digamma"))
    assert result["artifact"] is None
    assert json.loads((out / "result.json").read_text())["stage"] == "convert"
    assert (out / "config.yaml").is_file() and (out / "report.html").is_file()
    (run_record,) = Registry(tmp_path / "registry").runs("user_module")
    assert (run_record.status, run_record.stage, run_record.error_signature) == (
        "failed", "convert", result["error"]["signature"])


def test_a_conversion_failure_is_diagnosed_with_a_runnable_repro(tmp_path):
    result, out = run(tmp_path, "tiny_cnn", *user_module("tests.batch.modules.Unconvertible"))
    diagnosis = result["diagnosis"]
    assert (diagnosis["kind"], diagnosis["timed_out"], diagnosis["error"]) == (
        "conversion", False, None)
    (culprit,) = diagnosis["culprits"]
    assert "digamma" in culprit["op"] and culprit["error"].startswith("UnsupportedOpError")
    ast.parse(culprit["repro"])
    assert "diagnose" in result["timings"] and result["stage"] == "convert"  # verdict unchanged
    report = (out / "report.md").read_text()
    assert "## Diagnosis" in report and culprit["repro"].splitlines()[0] in report


def test_a_validation_failure_is_pinned_to_the_op_that_drifts(tmp_path, monkeypatch):
    import torch

    from tests.debug.wrong_lowerings import negated, swap_lowering

    swap_lowering(monkeypatch, torch.ops.aten.tanh.default, negated)
    result, out = run(tmp_path, "tiny_cnn", *user_module("tests.batch.modules.TanhHead"))
    assert (result["stage"], result["error"]["class"]) == ("validate", "ValidationError")
    (culprit,) = result["diagnosis"]["accuracy_culprits"]
    assert culprit["op"].startswith("aten.tanh") and culprit["cause"] == "conversion"
    assert "modules.py" in culprit["source"]
    assert culprit["error_before"] < culprit["tolerance"] < culprit["error_after"]
    assert "| aten.tanh" in (out / "report.md").read_text()
    errors = {e["op"]: e["conversion"] for e in result["diagnosis"]["layer_errors"]}
    assert errors["aten.tanh.default"] > 1 and (out / "report_layer_errors.png").is_file()


def test_degenerate_reference_fails_the_recipe(tmp_path):
    result, _ = run(tmp_path, "tiny_cnn", *user_module("tests.batch.modules.Collapsed"))
    assert (result["status"], result["stage"]) == ("failed", "validate")
    assert result["error"]["class"] == "RecipeError"
    assert "degenerate reference" in result["error"]["message"]


def test_out_of_tolerance_is_a_validation_failure(tmp_path):
    result, _ = run(tmp_path, "tiny_cnn", "validation.rtol=0")  # exact match: float error fails
    assert (result["status"], result["stage"]) == ("failed", "validate")
    assert result["error"]["class"] == "ValidationError"
    assert result["validation"]["passed"] is False  # the measured figures are kept
    assert Registry(tmp_path / "registry").list() == []


def test_bad_recipe_value_fails_at_the_recipe_stage_before_any_work(tmp_path):
    result, _ = run(tmp_path, "tiny_cnn", "model.builder._target_=model_zoo.nope")
    assert (result["status"], result["stage"]) == ("failed", "recipe")
    assert result["error"]["class"] == "RecipeError"
    assert result["error"]["message"].startswith("model.builder._target_:")
    assert set(result["timings"]) <= {"recipe", "report"}


def test_registry_off_keeps_the_tflite_in_the_job_directory(tmp_path):
    result, out = run(tmp_path, "tiny_cnn", "registry.enabled=false", "benchmark.enabled=false",
                      "report.enabled=false")
    assert result["status"] == "ok"
    assert result["artifact"]["version"] is None
    assert (out / "model.tflite").read_bytes()[4:8] == b"TFL3"
    assert result["benchmark"] is None
    assert not (tmp_path / "registry").exists()


@pytest.mark.slow
def test_resnet18_nhwc_drq_is_small_quantized_and_channels_last(tmp_path):
    result, _ = run(tmp_path, "resnet18_nhwc_drq")
    assert result["status"] == "ok", result["error"]
    assert result["model"]["int8_weights"] > 0
    assert result["model"]["size_bytes"] < 0.3 * 46.8e6
    assert result["quantization"]["preset"] == "drq"
    assert result["model"]["transposes"] == 0  # channels-last input, NHWC interior


def test_a_drq_job_records_xnnpack_coverage_and_its_latency_against_float(tmp_path):
    result, out = run(tmp_path, "tiny_cnn", *user_module("tests.batch.modules.InvertedResidual",
                                                         "[1,16,14,14]"),
                      "quant=drq", "quant.hybrid_kernels=all")
    assert result["status"] == "ok", result["error"]
    assert result["quantization"]["hybrid_kernels"] == "all"
    assert result["delegate"]["partitions"] == 2
    assert result["delegate"]["not_delegated"] == [
        {"op": "DEPTHWISE_CONV_2D", "form": "hybrid (int8 weights, float32 activations)",
         "count": 1}]
    timing = result["benchmark"]["threads"]["1"]
    assert timing["ratio_to_float"] == timing["median_ms"] / timing["float_median_ms"]
    report = (out / "report.md").read_text()
    assert "XNNPACK delegate" in report and "DEPTHWISE_CONV_2D" in report


def test_quantized_jobs_of_one_model_convert_its_float_model_once(tmp_path):
    drq, _ = run(tmp_path, "tiny_cnn", "quant=drq", job="drq")
    assert drq["status"] == "ok", drq["error"]
    (cached,) = (tmp_path / "float_models").glob("*.tflite")
    float_job, _ = run(tmp_path, "tiny_cnn", job="float")
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == float_job["artifact"]["sha256"]
    written = cached.stat()
    fp16, out = run(tmp_path, "tiny_cnn", "quant=fp16", job="fp16")
    assert fp16["status"] == "ok", fp16["error"]
    assert "float_median_ms" in fp16["benchmark"]["threads"]["1"]
    assert list((tmp_path / "float_models").glob("*")) == [cached]
    assert (cached.stat().st_ino, cached.stat().st_mtime_ns) == (written.st_ino,
                                                                 written.st_mtime_ns)



def test_the_diagnosis_deadline_passes_through_except_exception():
    # Culprit finders catch any Exception of a region and go on searching: the deadline
    # must not be one, or the search runs on to the job's own limit.
    import time

    from edgebatch.batch import diagnose

    start = time.monotonic()
    with pytest.raises(diagnose._OutOfTime):
        with diagnose._deadline(0.05):
            while time.monotonic() - start < 2:
                try:
                    time.sleep(0.01)
                except Exception:
                    pass
