"""Nightly regression: each job of a suite against its name's `baseline` artifact.

A comparison's status is one of
  regressed  the baseline worked and this run failed, or a metric crossed its threshold
  failed     this run failed and there is no baseline to compare with
  fixed      this run worked and the run before it (same name) had failed
  unchanged  this run's .tflite has the baseline's bytes (same sha256) and no check regressed
  improved   size, latency, error or op counts got better beyond the thresholds
  new        this run worked and there is no baseline yet
  ok         nothing moved beyond the thresholds
which is what `edgebatch.report.write_regression_report` renders. A job skipped by
skip_unchanged (`not_run`) is compared through the artifact version it matched: its stored
metrics and bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgebatch.batch.result import JobResult
from edgebatch.metrics import is_number
from edgebatch.errors import RegistryError
from edgebatch.registry.diff import changed_paths


@dataclass(frozen=True)
class Check:
    """One metric's rule: regressed(baseline, current) and improved(baseline, current)."""

    metric: str
    threshold: float
    regressed: Callable[[float, float], bool]
    improved: Callable[[float, float], bool]


def checks_for(thresholds, latency_key: str | None) -> list[Check]:
    t = thresholds
    checks = [
        Check("size_bytes", t.size_rel,
              lambda b, c: c > b * (1 + t.size_rel), lambda b, c: c < b * (1 - t.size_rel)),
        Check("rel_error", t.rel_error_factor,
              lambda b, c: c > max(b * t.rel_error_factor, t.rel_error_min),
              lambda b, c: b > t.rel_error_min and c < b / t.rel_error_factor),
        Check("cosine", t.cosine_drop,
              lambda b, c: b - c > t.cosine_drop, lambda b, c: c - b > t.cosine_drop),
        Check("num_ops", t.num_ops, lambda b, c: c - b > t.num_ops, lambda b, c: b - c > t.num_ops),
        Check("transposes", t.transposes,
              lambda b, c: c - b > t.transposes, lambda b, c: b - c > t.transposes),
    ]
    if latency_key:
        def slower(b, c):
            return c > b * (1 + t.latency_rel) and c - b > t.latency_min_ms

        def faster(b, c):
            return c < b * (1 - t.latency_rel) and b - c > t.latency_min_ms

        checks.append(Check(latency_key, t.latency_rel, slower, faster))
    return checks


def _latency_key(metrics: dict) -> str | None:
    """Latency at the fewest threads measured."""
    keys = [k for k in metrics if k.startswith("latency_ms_") and metrics[k] is not None]
    return min(keys, key=lambda k: int(k.removeprefix("latency_ms_").removesuffix("t")), default=None)


def run_checks(baseline: dict, current: dict, thresholds) -> list[dict]:
    rows = []
    for check in checks_for(thresholds, _latency_key(current)):
        b, c = baseline.get(check.metric), current.get(check.metric)
        row = {"metric": check.metric, "baseline": b, "current": c, "delta": None,
               "relative": None, "threshold": check.threshold, "regressed": False,
               "improved": False}
        if is_number(b) and is_number(c):
            row["delta"] = c - b
            row["relative"] = (c - b) / abs(b) if b else None
            row["regressed"] = bool(check.regressed(b, c))
            row["improved"] = bool(check.improved(b, c))
        rows.append(row)
    return rows


def compare(registry, result: JobResult, suite) -> dict:
    """One job's comparison record (see the module docstring for the statuses)."""
    name = result.name or "unnamed"
    artifact = result.artifact
    error = result.error
    comparison = {
        "name": name,
        "recipe": result.recipe,
        "status": None,
        "baseline": None,
        "current": {"status": result.status, "version": artifact.version if artifact else None,
                    "report": (result.report or {}).get("html")},
        "checks": [],
        "error": ({**error.model_dump(by_alias=True), "stage": result.stage} if error else None),
        "last_good_version": None,
        "failing_since": None,
        "not_run": result.unchanged is not None,  # skip_unchanged: same job key as before
    }
    baseline = _baseline(registry, name, suite.baseline_alias)
    if baseline is not None:
        comparison["baseline"] = {"version": baseline.version, "sha256": baseline.sha256,
                                  "report": baseline.report_paths.get("html")}
        # what differs from the baseline's run, besides the model: recipe and tool versions
        comparison["recipe_changes"] = changed_paths(baseline.recipe, result.config or {})
        comparison["tool_version_changes"] = changed_paths(baseline.tool_versions,
                                                           result.tool_versions or {})
    runs = _runs(registry, name)
    # Never this run's own version: a run that regressed may still have registered.
    current_version = comparison["current"]["version"]
    good = next((r for r in runs if r.run_id != result.run_id and r.status == "ok"
                 and r.artifact_version and r.artifact_version != current_version), None)
    comparison["last_good_version"] = good.artifact_version if good else None

    if result.status != "ok":
        streak = []
        for run in runs:
            if run.status != "failed":
                break
            streak.append(run)
        comparison["failing_since"] = streak[-1].started_at if streak else result.started_at
        if baseline is None:
            comparison["status"] = "failed"
        else:
            comparison["status"] = "regressed"
            comparison["checks"] = [{"metric": "status", "baseline": "ok", "current": "failed",
                                     "delta": None, "relative": None, "threshold": None,
                                     "regressed": True, "improved": False}]
        return comparison

    if baseline is None:
        comparison["status"] = "new"
        return comparison
    checks = run_checks(baseline.metrics, _current_metrics(registry, result), suite.thresholds)
    comparison["checks"] = checks
    previous = runs[1] if len(runs) > 1 and runs[0].run_id == result.run_id else None
    if any(c["regressed"] for c in checks):
        comparison["status"] = "regressed"
    elif previous is not None and previous.status == "failed":
        comparison["status"] = "fixed"
    elif artifact is not None and artifact.sha256 == baseline.sha256:
        comparison["status"] = "unchanged"
    elif any(c["improved"] for c in checks):
        comparison["status"] = "improved"
    else:
        comparison["status"] = "ok"
    return comparison


def _current_metrics(registry, result: JobResult) -> dict:
    """This run's metrics; for a job skipped as unchanged, those of the version it matched."""
    if result.unchanged is None:
        return result.flat_metrics()
    return registry.get(f"{result.name}@{result.unchanged.version}").metrics


def _baseline(registry, name: str, alias: str):
    if alias not in registry.aliases(name):
        return None
    try:
        return registry.get(f"{name}@{alias}")
    except RegistryError:
        return None


def _runs(registry, name: str) -> list:
    try:
        return registry.runs(name, limit=1000)
    except RegistryError:
        return []
