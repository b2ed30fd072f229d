"""The Hydra callback that closes a multirun: sweep report, suite regression, exit status.

Registered in edgebatch/recipes/edgebatch.yaml under `hydra.callbacks`. Jobs may have run in
this process (basic launcher) or elsewhere (joblib workers, submitit, Ray): the
callback reads what each job wrote, `<sweep dir>/<job>/result.json`, so it works the
same with every launcher.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from textwrap import shorten
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from edgebatch.batch import outcome
from edgebatch.batch.plan import format_plan, plan, sweep_overrides
from edgebatch.batch.progress import SweepProgress
from edgebatch.batch.result import RESULT_FILE, JobResult
from edgebatch.units import megabytes

log = logging.getLogger("edgebatch.batch")

REGRESSION_FILE = "regression.json"
SUMMARY_FILE = "summary.json"


class BatchSummary(Callback):
    def __init__(self) -> None:
        self._progress: SweepProgress | None = None
        self._total = 0

    def __getstate__(self) -> dict[str, Any]:  # joblib sends the callbacks to its workers
        return {**self.__dict__, "_progress": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        outcome.reset()
        if config.dry_run:
            print(format_plan(plan(config)), flush=True)
            raise SystemExit(0)  # before the launcher starts (or creates) anything
        suite = config.get("suite")
        what = f"suite '{suite.name}'" if suite else "sweep"
        self._total = len(sweep_overrides(config))
        log.info("%s of %d jobs → %s", what, self._total, config.hydra.sweep.dir)
        self._progress = SweepProgress(Path(config.hydra.sweep.dir), self._total)
        self._progress.start()

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode == RunMode.MULTIRUN:
            of = f"/{self._total}" if self._total else ""  # known in the launching process
            log.info("job #%s%s: %s", config.hydra.job.num, of, " ".join(config.hydra.overrides.task))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
        sweep_dir = Path(config.hydra.sweep.dir)
        outcome.report(finish_sweep(config, collect_results(sweep_dir), sweep_dir))


def collect_results(sweep_dir: Path) -> list[JobResult]:
    """Every job's result.json under the sweep directory, in job order."""
    def job_order(path: Path):
        prefix = path.parent.name.split("_", 1)[0]
        return (int(prefix), path.parent.name) if prefix.isdigit() else (1 << 30, path.parent.name)

    results = []
    for path in sorted(sweep_dir.glob(f"*/{RESULT_FILE}"), key=job_order):
        try:
            results.append(JobResult.read(path.parent))
        except (OSError, ValueError) as error:
            log.warning("unreadable %s: %s", path, error)
    return results


def finish_sweep(config: DictConfig, results: list[JobResult], sweep_dir: Path) -> int:
    """Write the sweep report (and the suite's regression report); return the exit status."""
    from edgebatch.report import write_sweep_report

    failed = [r for r in results if r.status != "ok"]
    paths = write_sweep_report([r.to_dict() for r in results], sweep_dir)
    (sweep_dir / SUMMARY_FILE).write_text(json.dumps(sweep_summary(results, sweep_dir), indent=2))
    _print_summary(results, paths.get("html"))

    suite = config.get("suite")
    if suite and suite.coverage:
        from edgebatch.report.coverage import write_coverage

        coverage = write_coverage([r.to_dict() for r in results], sweep_dir)
        log.info("coverage: %s", coverage["markdown"])
    fail_on = _value(suite.fail_on) if suite else "any_failure"
    status = 1 if failed and fail_on == "any_failure" else 0
    if any(outcome.job_status(r) == outcome.EXIT_CONFIG_ERROR for r in results):
        status = outcome.EXIT_CONFIG_ERROR
    if suite and suite.compare_baseline:
        if not config.registry.enabled:
            log.warning("suite '%s' compares with the registry, but registry.enabled=false", suite.name)
            return status
        regressed = _regression(config, suite, results, sweep_dir)
        if regressed and fail_on == "regression" and not config.promote:
            status = max(status, 1)
    return status


def sweep_summary(results: list[JobResult], sweep_dir: Path) -> dict[str, Any]:
    """summary.json: the counts, then one entry per job with its outcome, main figures and
    the paths (relative to the sweep directory) of its result.json and report."""
    jobs = []
    for result in results:
        job = result.to_dict()
        report = {kind: _relative(path, sweep_dir) for kind, path in (result.report or {}).items()}
        jobs.append({
            "name": result.name, "recipe": result.recipe, "status": result.status,
            "stage": result.stage, "error": (job.get("error") or {}).get("class"),
            "size_bytes": (job.get("model") or {}).get("size_bytes"),
            "rel_error": (job.get("validation") or {}).get("rel_error"),
            "median_ms": {threads: run.get("median_ms") for threads, run
                          in ((job.get("benchmark") or {}).get("threads") or {}).items()},
            "artifact": (f"{result.artifact.name}@{result.artifact.version}"
                         if result.artifact and result.artifact.version is not None else None),
            "unchanged": result.unchanged is not None,  # skip_unchanged: not run
            "report": report,
        })
    ok = sum(job["status"] == "ok" for job in jobs)
    unchanged = sum(job["unchanged"] for job in jobs)
    return {"jobs": len(jobs), "ok": ok, "failed": len(jobs) - ok, "unchanged": unchanged,
            "results": jobs}


def _relative(path: str, base: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _regression(config: DictConfig, suite, results: list[JobResult], sweep_dir: Path) -> list[dict]:
    from edgebatch.batch.regression import compare
    from edgebatch.registry import Registry
    from edgebatch.report import write_regression_report

    registry = Registry(config.registry.root, url=config.registry.url)
    comparisons = [compare(registry, result, suite) for result in results]
    _move_baselines(registry, suite, comparisons, promote=config.promote)
    (sweep_dir / REGRESSION_FILE).write_text(json.dumps(comparisons, indent=2, default=str))
    paths = write_regression_report(comparisons, sweep_dir)
    regressed = [c for c in comparisons if c["status"] == "regressed"]
    counts: dict[str, int] = {}
    for c in comparisons:
        counts[c["status"]] = counts.get(c["status"], 0) + 1
    print(f"regression vs '{suite.baseline_alias}': "
          + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
          + f" → {paths['html']}", flush=True)
    for c in regressed:
        what = "; ".join(f"{k['metric']} {k['baseline']} → {k['current']}"
                         for k in c["checks"] if k["regressed"])
        error = c.get("error") or {}
        if error:
            what += f" [{error.get('class')} at {error.get('stage')}, signature {error.get('signature')}," \
                    f" last good version {c.get('last_good_version')}]"
        print(f"  REGRESSED {c['name']}: {what}", flush=True)
    return regressed


def _move_baselines(registry, suite, comparisons: list[dict], *, promote: bool) -> None:
    """promote=true: every successful job becomes its name's baseline. Otherwise only
    names without a baseline get one (init_missing_baseline)."""
    for c in comparisons:
        version = c["current"].get("version")
        if c["current"].get("status") != "ok" or version is None:
            continue
        if promote or (suite.init_missing_baseline and c["baseline"] is None):
            registry.set_alias(c["name"], version, suite.baseline_alias)
            c["promoted"] = True
            log.info("%s@%s is now '%s'", c["name"], version, suite.baseline_alias)


def _value(x):
    return getattr(x, "value", x)


def _print_summary(results: list[JobResult], report: Path | None) -> None:
    ok = sum(r.status == "ok" for r in results)
    unchanged = sum(r.unchanged is not None for r in results)
    print(f"{len(results)} jobs: {ok} ok, {len(results) - ok} failed"
          + (f" ({unchanged} unchanged, not run)" if unchanged else "")
          + (f" → {report}" if report else ""), flush=True)
    for r in results:
        print("  " + summary_line(r), flush=True)


def summary_line(result: JobResult) -> str:
    """One line per job: name, status, size, error, latency, artifact."""
    name = result.name or result.recipe or "job"
    if result.status != "ok":
        error = result.error
        message = error.message.strip().splitlines() if error else []
        return (f"{name}: FAILED at {result.stage}: {error.error_class if error else None}: "
                f"{shorten(message[0], 160, placeholder=' …') if message else ''} "
                f"[signature {error.signature if error else None}]")
    if result.unchanged is not None:
        return (f"{name}: unchanged, not run: same job key as run {result.unchanged.run_id} "
                f"→ {name}@{result.unchanged.version}")
    parts = [f"{name}: ok"]
    if result.model is not None:
        parts.append(f"{megabytes(result.model.size_bytes)}, {result.model.num_ops} ops, "
                     f"{result.model.transposes} transposes")
    if result.validation is not None:
        parts.append(f"rel error {result.validation.rel_error:.2g}, "
                     f"cosine {result.validation.cosine:.6f}")
    if result.benchmark is not None and result.benchmark.threads:
        parts.append(", ".join(f"{t}t {s.median_ms:.2f} ms"
                               for t, s in result.benchmark.threads.items()))
    artifact = result.artifact
    if artifact is not None and artifact.version is not None:
        unchanged = " (unchanged)" if artifact.unchanged else ""
        parts.append(f"{artifact.name}@{artifact.version}{unchanged}")
    return " | ".join(parts)
