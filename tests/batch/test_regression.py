"""Nightly regression against a seeded `baseline` in a tmp registry, without converting."""

from __future__ import annotations

import json

import pytest

from edgebatch.batch.callbacks import finish_sweep
from edgebatch.batch.regression import compare
from edgebatch.batch.result import ArtifactRecord, JobResult
from edgebatch.registry import Registry
from tests.recipe.compose import compose_config

TFLITE = b"\x1c\x00\x00\x00TFL3"


def result(name, *, status="ok", size=1000, ops=10, transposes=1, rel_error=1e-6, cosine=1.0,
           latency=5.0, run_id=None, registry=None, payload=b""):
    res = {
        "name": name, "recipe": name, "status": status, "stage": None, "error": None,
        "config": {"quant": {"name": "none"}, "layout": {"name": "nchw"}},
        "model": {"size_bytes": size, "num_ops": ops, "transposes": transposes, "gather_nd": 0,
                  "int8_weights": 0, "uses_flex": False, "ops": {}, "weight_dtypes": {},
                  "activation_dtypes": {}, "ops_on_constants": [], "signatures": []},
        "validation": {"max_abs": rel_error, "mean_abs": rel_error / 2, "rel_error": rel_error,
                       "rmse": rel_error, "cosine": cosine, "passed": True, "atol": 0.0,
                       "rtol": 1e-4, "min_cosine": None, "n_inputs": 1, "outputs": {}},
        "conversion": {"seconds": 1.0, "peak_rss_mb": 100.0},
        "benchmark": {"signature": "serving_default", "delegate": "XNNPACK",
                      "threads": {"1": {"median_ms": latency, "p90_ms": latency, "runs": 5}}},
        "artifact": None, "run_id": run_id or f"{name}-{status}-{size}-{latency}",
        "started_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:00:01+00:00",
    }
    if status != "ok":
        res.update(stage="convert", model=None, validation=None, benchmark=None,
                   error={"class": "UnsupportedOpError", "message": "no lowering for aten.x",
                          "signature": "abcd" * 4})
    res = JobResult.model_validate(res)
    if registry is not None:  # what the job itself does: put (when ok), then record the run
        version = None
        if status == "ok":
            artifact = registry.put(name, TFLITE + payload + name.encode() + str(size).encode(),
                                    recipe={}, metrics=res.flat_metrics(), tool_versions={},
                                    run_id=res.run_id)
            version = artifact.version
            res.artifact = ArtifactRecord(name=name, version=version, sha256=artifact.sha256,
                                          path=str(artifact.path))
        registry.record_run(res.run_id, name, status=status, stage=res.stage,
                            error_class=None, error_signature=None, error_message=None,
                            artifact_version=version, started_at=res.started_at,
                            finished_at=res.finished_at, config={})
    return res


@pytest.fixture
def registry(tmp_path):
    return Registry(tmp_path / "registry")


@pytest.fixture
def nightly(tmp_path):
    return compose_config(["+recipe=tiny_cnn", "+suite=nightly", f"paths.root={tmp_path}"])


def baseline(registry, name, **kwargs):
    res = result(name, registry=registry, run_id=f"{name}-baseline", **kwargs)
    registry.set_alias(name, res.artifact.version, "baseline")
    return res


def test_statuses(registry, nightly):
    suite = nightly.suite
    for name in ("same", "rebuilt", "bigger", "slower", "less_accurate", "more_ops", "smaller",
                 "broken"):
        baseline(registry, name)
    cases = {
        "same": result("same", registry=registry, latency=5.2),  # the baseline's bytes
        "rebuilt": result("rebuilt", registry=registry, latency=5.2, payload=b"other bytes"),
        "bigger": result("bigger", registry=registry, size=1100),
        "slower": result("slower", registry=registry, latency=9.0),
        "less_accurate": result("less_accurate", registry=registry, rel_error=1e-3, cosine=0.99),
        "more_ops": result("more_ops", registry=registry, ops=11, transposes=2),
        "smaller": result("smaller", registry=registry, size=500),
        "broken": result("broken", registry=registry, status="failed"),
        "brand_new": result("brand_new", registry=registry),
        "never_worked": result("never_worked", registry=registry, status="failed"),
    }
    got = {name: compare(registry, res, suite) for name, res in cases.items()}
    assert {n: c["status"] for n, c in got.items()} == {
        "same": "unchanged", "rebuilt": "ok", "bigger": "regressed", "slower": "regressed",
        "less_accurate": "regressed",
        "more_ops": "regressed", "smaller": "improved", "broken": "regressed",
        "brand_new": "new", "never_worked": "failed",
    }
    regressed_metrics = {n: {c["metric"] for c in got[n]["checks"] if c["regressed"]} for n in got}
    assert regressed_metrics["bigger"] == {"size_bytes"}
    assert regressed_metrics["slower"] == {"latency_ms_1t"}
    assert regressed_metrics["less_accurate"] == {"rel_error", "cosine"}
    assert regressed_metrics["more_ops"] == {"num_ops", "transposes"}
    broken = got["broken"]
    assert broken["error"]["signature"] == "abcd" * 4 and broken["error"]["stage"] == "convert"
    assert broken["last_good_version"] == 1 and broken["failing_since"] is not None
    assert broken["baseline"]["version"] == 1
    bigger = got["bigger"]
    assert bigger["current"]["version"] == 2
    assert bigger["last_good_version"] == 1  # never the regressed version itself
    assert bigger["recipe_changes"] == {"layout.name": {"a": None, "b": "nchw"},  # seeded with {}
                                        "quant.name": {"a": None, "b": "none"}}
    assert bigger["tool_version_changes"] == {}


def test_fixed_after_a_failure(registry, nightly):
    baseline(registry, "flaky")
    result("flaky", registry=registry, status="failed", run_id="flaky-2")
    again = result("flaky", registry=registry, run_id="flaky-3")
    registry_runs = registry.runs("flaky")
    assert registry_runs[0].run_id == "flaky-3"
    assert compare(registry, again, nightly.suite)["status"] == "fixed"


def test_latency_noise_below_the_floor_is_not_a_regression(registry, nightly):
    baseline(registry, "tiny", latency=0.02)
    current = result("tiny", registry=registry, latency=0.05, payload=b"rebuilt")
    assert compare(registry, current, nightly.suite)["status"] == "ok"


def test_finish_sweep_exits_non_zero_on_regression_and_promote_moves_the_baseline(
        registry, nightly, tmp_path):
    baseline(registry, "a")
    baseline(registry, "b")
    results = [result("a", registry=registry), result("b", registry=registry, size=2000),
               result("c", registry=registry)]
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    assert finish_sweep(nightly, results, sweep) == 1
    comparisons = {c["name"]: c for c in json.loads((sweep / "regression.json").read_text())}
    assert comparisons["b"]["status"] == "regressed"
    assert (sweep / "regression.html").is_file() and (sweep / "summary.html").is_file()
    assert registry.aliases("c") == {"baseline": 1}  # a first baseline for a new name
    assert registry.aliases("b") == {"baseline": 1}  # not moved without promote

    promote = compose_config(["+recipe=tiny_cnn", "+suite=nightly", f"paths.root={tmp_path}",
                              "promote=true"])
    results = [result("b", registry=registry, size=2000, run_id="b-again", payload=b"2")]
    assert finish_sweep(promote, results, sweep) == 0
    assert registry.aliases("b") == {"baseline": results[0].artifact.version}


def test_plain_sweeps_fail_on_any_failure(registry, tmp_path):
    cfg = compose_config(["+recipe=tiny_cnn", f"paths.root={tmp_path}"])
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    assert finish_sweep(cfg, [result("a"), result("b", status="failed")], sweep) == 1
    assert finish_sweep(cfg, [result("a")], sweep) == 0
    assert not (sweep / "regression.json").exists()
