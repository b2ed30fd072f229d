"""The real `edgebatch` command in a subprocess: runs, sweeps, suites, launchers, errors.

Every run writes under a tmp `paths.root`; the models are the tiny example recipes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgebatch.registry import Registry

REPO = Path(__file__).resolve().parents[2]
FAST = ["validation.n_inputs=1", "benchmark.threads=[1]", "benchmark.warmup=1", "benchmark.runs=2"]
UNCONVERTIBLE = """# @package _global_
defaults:
  - override /model: user
  - _self_
model:
  name: unconvertible
  builder: {_target_: tests.batch.modules.Unconvertible}
  inputs:
    args: [{shape: [1, 8]}]
"""


def edgebatch_command() -> list[str]:
    script = Path(sys.executable).with_name("edgebatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "edgebatch.cli"]


def edgebatch(*args: str, root: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # tests.batch.modules for user-module recipes
    env.pop("HYDRA_FULL_ERROR", None)
    return subprocess.run([*edgebatch_command(), *args, f"paths.root={root}"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def results(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.glob("**/result.json"))]


def sweep_dir(root: Path) -> Path:
    (path,) = [p.parent for p in root.glob("multirun/*/*/multirun.yaml")]
    return path


def extra_recipes(tmp_path: Path) -> str:
    """A search-path dir with a recipe whose model cannot be converted."""
    (tmp_path / "extra" / "recipe").mkdir(parents=True)
    (tmp_path / "extra" / "recipe" / "unconvertible.yaml").write_text(UNCONVERTIBLE)
    return f"hydra.searchpath=[file://{tmp_path / 'extra'}]"


# What TensorFlow, absl, LiteRT and the TF converter print on their own in an int8 job.
NOISE = ("absl::InitializeLog", "port.cc", "XNNPACK delegate", "tf.lite.Interpreter is deprecated",
         "experimental_preserve_all_tensors", "fully_quantize: 0", "UserWarning")


def assert_quiet(proc: subprocess.CompletedProcess, job_logs: list[Path]) -> None:
    """The terminal shows none of the libraries' noise; the jobs' logs keep it (a warm
    worker's once-per-process lines are in the log of its first job)."""
    for line in NOISE:
        assert line not in proc.stderr and line not in proc.stdout, line
    logged = "".join(log.read_text() for log in job_logs)
    assert "fully_quantize: 0" in logged and "absl::InitializeLog" in logged


def test_one_recipe_with_command_line_overrides(tmp_path):
    proc = edgebatch("+recipe=tiny_cnn", "validation.n_inputs=2", "benchmark.runs=4",
                     "benchmark.threads=[1]", root=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = results(tmp_path / "runs")
    assert result["status"] == "ok" and result["recipe"] == "tiny_cnn"
    assert result["validation"]["n_inputs"] == 2
    assert result["benchmark"]["threads"]["1"]["runs"] == 4
    job_dir = next((tmp_path / "runs").glob("*/*tiny_cnn"))
    assert (job_dir / "config.yaml").is_file() and (job_dir / "report.html").is_file()
    assert "tiny_cnn: ok" in proc.stdout and "tiny_cnn@1" in proc.stdout
    assert "[tiny_cnn] convert done in" in proc.stderr  # progress with timing
    assert Registry(tmp_path / "registry").get("tiny_cnn").version == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["+recipe=tiny_cnn", "validation.rtl=1"],
         "edgebatch: error: validation.rtl: Key 'rtl' not in 'ValidationConfig'"),
        (["+recipe=tiny_cnn", "benchmark.runs=many"],
         "edgebatch: error: benchmark.runs: Value 'many' of type 'str' could not be converted"),
        (["+recipe=tiny_cnn", "quant=drq", "quant.hybrid_kernels=fast"],
         "edgebatch: error: quant.hybrid_kernels: Invalid value 'fast', expected one of "
         "[auto, all, none]"),
        (["+recipe=typo"],
         "edgebatch: error: validation.rtool: Key 'rtool' not in 'ValidationConfig' (in recipe/typo.yaml)"),
        (["+recipe=broken"], "edgebatch: error: malformed YAML in "),
        (["+recipe=tiny_cnn", "name=../../escape"],
         "edgebatch: error: name: bad artifact name '../../escape'"),
    ],
)
def test_a_bad_field_gives_one_clear_line(tmp_path, args, expected):
    (tmp_path / "extra" / "recipe").mkdir(parents=True)
    (tmp_path / "extra" / "recipe" / "typo.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /model: examples/TinyCNN\n  - _self_\n"
        "validation:\n  rtool: 0.1\n")
    (tmp_path / "extra" / "recipe" / "broken.yaml").write_text("validation: {n_inputs: [1, 2\n")
    proc = edgebatch(*args, f"hydra.searchpath=[file://{tmp_path / 'extra'}]", root=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), proc.stderr
    assert not (tmp_path / "runs").exists()  # rejected before any work


def test_an_out_of_range_value_is_a_config_error(tmp_path):
    proc = edgebatch("+recipe=tiny_cnn", "validation.n_inputs=-1", root=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "edgebatch: error: validation.n_inputs: must be >= 1, got -1")
    (result,) = results(tmp_path / "runs")  # recorded, like any failed job
    assert (result["stage"], result["error"]["class"]) == ("recipe", "RecipeError")


def test_smoke_suite_twice_gives_the_same_bytes_and_one_version_each(tmp_path):
    """Float, multi-signature and int8 recipes, run twice (the second time on joblib workers):
    the same sha256 each, one version each in the registry, the second run says unchanged."""
    first = edgebatch("+suite=smoke", f"hydra.sweep.dir={tmp_path / 'first'}", root=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    jobs = results(tmp_path / "first")
    assert sorted(r["recipe"] for r in jobs) == ["multi_signature", "tiny_cnn", "tiny_cnn_nhwc_int8"]
    assert all(r["status"] == "ok" for r in jobs)
    assert (tmp_path / "first" / "summary.html").is_file()
    assert list((tmp_path / "first").glob("summary_pareto_*.png"))  # one plot per model
    assert "3 jobs: 3 ok, 0 failed" in first.stdout
    assert "suite 'smoke' of 3 jobs" in first.stderr and "job #1/3:" in first.stderr
    assert "sweep: 3/3 done, 0 failed" in first.stderr  # not a terminal: plain progress lines
    summary = json.loads((tmp_path / "first" / "summary.json").read_text())
    assert (summary["jobs"], summary["ok"], summary["failed"]) == (3, 3, 0)
    for job in summary["results"]:
        assert (tmp_path / "first" / job["report"]["html"]).is_file()
        assert job["artifact"] == f"{job['name']}@1" and job["size_bytes"] > 0
    assert_quiet(first, job_logs=list((tmp_path / "first").glob("*/job.log")))
    assert all(r["process"]["isolation"] == "pool" for r in jobs)
    quantized = next(r for r in jobs if r["recipe"] == "tiny_cnn_nhwc_int8")
    assert quantized["model"]["transposes"] == 0 and quantized["model"]["int8_weights"] > 0

    second = edgebatch("+suite=smoke", f"hydra.sweep.dir={tmp_path / 'second'}",
                       "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", root=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    sha = {run: {r["name"]: r["artifact"]["sha256"] for r in results(tmp_path / run)}
           for run in ("first", "second")}
    assert len(sha["first"]) == 3 and sha["first"] == sha["second"]
    registry = Registry(tmp_path / "registry")
    assert {a.name: a.version for a in registry.list()} == dict.fromkeys(sha["first"], 1)
    assert all(r["artifact"]["unchanged"] for r in results(tmp_path / "second"))
    assert second.stdout.count("@1 (unchanged)") == 3


def test_a_failing_job_is_recorded_while_the_parallel_sweep_goes_on(tmp_path):
    """joblib workers, one job failing: its stage, class and signature are recorded and the
    other job still finishes and registers."""
    proc = edgebatch("-m", "+recipe=unconvertible,tiny_cnn", extra_recipes(tmp_path),
                     "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *FAST, root=tmp_path)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in proc.stderr
    by_name = {r["name"]: r for r in results(tmp_path / "multirun")}
    failed, ok = by_name["unconvertible"], by_name["tiny_cnn"]
    assert (failed["status"], failed["stage"], failed["error"]["class"]) == (
        "failed", "convert", "UnsupportedOpError")
    assert len(failed["error"]["signature"]) == 16
    assert ok["status"] == "ok"
    assert "unconvertible: FAILED at convert: UnsupportedOpError" in proc.stdout
    registry = Registry(tmp_path / "registry")
    assert registry.runs("unconvertible")[0].error_signature == failed["error"]["signature"]
    assert registry.get("tiny_cnn").version == 1
    assert "UnsupportedOpError" in (sweep_dir(tmp_path) / "summary.md").read_text()


def test_submitit_local_launcher(tmp_path):
    proc = edgebatch("-m", "+recipe=tiny_cnn", "hydra/launcher=submitit_local", *FAST,
                     root=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = sweep_dir(tmp_path)
    assert (sweep / ".submitit").is_dir()
    assert [r["status"] for r in results(sweep)] == ["ok"]
    assert (sweep / "summary.html").is_file()


def test_nightly_flags_a_regression_against_a_seeded_baseline(tmp_path):
    registry = Registry(tmp_path / "registry")
    seeded = registry.put("tiny_cnn", b"\x1c\x00\x00\x00TFL3seeded", recipe={}, tool_versions={},
                          metrics={"size_bytes": 1000, "num_ops": 3, "transposes": 0,
                                   "rel_error": 1e-7, "cosine": 1.0})
    registry.set_alias("tiny_cnn", seeded.version, "baseline")

    proc = edgebatch("+suite=nightly", "+recipe=tiny_cnn", *FAST, root=tmp_path)  # nightly, one recipe
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "REGRESSED tiny_cnn" in proc.stdout and "size_bytes" in proc.stdout
    (comparison,) = json.loads((sweep_dir(tmp_path) / "regression.json").read_text())
    assert comparison["status"] == "regressed" and comparison["baseline"]["version"] == 1
    assert (sweep_dir(tmp_path) / "regression.html").is_file()
    assert registry.aliases("tiny_cnn") == {"baseline": 1}  # moves only with promote=true


@pytest.mark.slow
def test_every_recipe_runs_in_smoke_mode(tmp_path):
    """`+recipe=glob(*)` with tiny settings: every recipe end to end (the zoo: minutes)."""
    proc = edgebatch("-m", "+recipe=glob(*)", "validation.n_inputs=1", "benchmark.enabled=false",
                     "registry.enabled=false", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                     root=tmp_path, timeout=3600)
    jobs = {r["recipe"]: r for r in results(tmp_path / "multirun")}
    recipes = {p.stem for p in (REPO / "edgebatch" / "recipes" / "recipe").glob("*.yaml")}
    assert set(jobs) == recipes
    failed = {name: f"{r['stage']}: {r['error']['class']}: {r['error']['message'][:200]}"
              for name, r in jobs.items() if r["status"] != "ok"}
    assert not failed, failed
    assert proc.returncode == 0


@pytest.mark.slow
def test_readme_sweep_gives_four_versions_and_a_plot(tmp_path):
    proc = edgebatch("-m", "+recipe=resnet18", "quant=none,fp16,drq,int8", "benchmark.runs=5",
                     root=tmp_path, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    names = {a.name for a in Registry(tmp_path / "registry").list()}
    assert names == {"resnet18", "resnet18_fp16", "resnet18_drq", "resnet18_int8"}
    assert (sweep_dir(tmp_path) / "summary_pareto_resnet18.png").is_file()


def test_verbose_flag_sets_runner_verbose(tmp_path):
    proc = edgebatch("-v", "--cfg", "job", "+recipe=tiny_cnn", root=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "  verbose: true" in proc.stdout


def test_a_malformed_keep_float_is_a_config_error(tmp_path):
    proc = edgebatch("+recipe=tiny_cnn", "quant=int8", "quant.keep_float=auto:two", root=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "edgebatch: error: quant.keep_float: 'auto:two' is not auto:K with K a whole number "
        "(e.g. auto:2)")


def test_a_keep_float_sweep_records_the_layers_kept(tmp_path):
    proc = edgebatch("-m", "+recipe=tiny_cnn", "quant=int8", "quant.keep_float=auto:0,auto:1",
                     *FAST, "benchmark.compare_float=false", "runner.isolation=pool",
                     root=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    by_spec = {r["config"]["quant"]["keep_float"]: r["quantization"] for r in results(tmp_path)}
    assert by_spec["auto:0"]["kept_float"] == [] and by_spec["auto:0"]["keep_float_auto"] == []
    (layer,) = by_spec["auto:1"]["kept_float"]
    assert by_spec["auto:1"]["keep_float_auto"][0]["layer"] == layer
    assert "float" in by_spec["auto:1"]["op_kinds"]
