"""How a job runs: resumed from a finished result, skipped as unchanged, inline, or in a
supervised child.

`run(cfg, out_dir, recipe)` is what every launcher's task calls. With
`runner.isolation=process` (the default) the job runs in a fresh child process under
`runner.timeout_s` and `runner.memory_mb`; with `runner.isolation=pool`, on this process's
warm worker (edgebatch.batch.pool) under the same limits. A crash, a hang or a memory
overrun becomes that job's failure — result.json with the stage it was in, the cause and
the tail of its log — and the launcher goes on to the next job. The same holds under the
basic, joblib and submitit launchers, since each of them calls this function.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

from omegaconf import DictConfig

from edgebatch.batch import pool
from edgebatch.batch.failures import error_record
from edgebatch.batch.job import finish, new_result, now_iso, run_job
from edgebatch.batch.job_key import job_key
from edgebatch.batch.result import RESULT_FILE, JobResult, ProcessRecord
from edgebatch.batch.stages import resolved_config
from edgebatch.batch.supervisor import ChildExit, python_argv, supervise
from edgebatch.batch.unchanged import unchanged_result
from edgebatch.batch.worker import is_job_line
from edgebatch.recipe.checks import check_values
from edgebatch.errors import JobAbortedError, JobCrashError, JobMemoryError, JobTimeoutError

log = logging.getLogger("edgebatch.batch")

SPEC_FILE = "job.json"  # what the child runs
LOG_FILE = "job.log"  # everything the child printed


def run(cfg: DictConfig, out_dir: str | Path, *, recipe: str | None = None) -> JobResult:
    """Run one job into `out_dir` and return its result; never raises for the job's failure."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        config = resolved_config(cfg)
        check_values(cfg)
    except Exception:  # fails at its recipe stage, in a moment: no child needed
        return run_job(cfg, out_dir, recipe=recipe)
    if cfg.resume:
        finished = finished_result(out_dir, job_key(config))
        if finished is not None:
            log.info("[%s] resumed: finished before (%s), not run again", finished.name,
                     finished.status)
            return finished
    if cfg.skip_unchanged:
        unchanged = unchanged_result(cfg, config, out_dir, recipe)
        if unchanged is not None:
            return unchanged
    if cfg.runner.isolation.value == "inline":
        return run_job(cfg, out_dir, recipe=recipe)
    return _run_in_child(cfg, config, out_dir, recipe)


def finished_result(out_dir: Path, key: str) -> JobResult | None:
    """The job directory's result if it finished with the same job key."""
    result = read_result(out_dir)
    if result is not None and result.finished and result.job_key == key:
        return result
    return None


def read_result(out_dir: Path) -> JobResult | None:
    try:
        return JobResult.read(out_dir)
    except (OSError, ValueError):
        return None


def _run_in_child(cfg: DictConfig, config: dict, out_dir: Path, recipe: str | None) -> JobResult:
    spec = out_dir / SPEC_FILE
    spec.write_text(json.dumps({"config": config, "recipe": recipe, "out_dir": str(out_dir)}))
    (out_dir / RESULT_FILE).unlink(missing_ok=True)  # an earlier run's result is not this one's
    limits = cfg.runner
    output = {"log_path": out_dir / LOG_FILE, "echo": sys.stderr,
              "echo_line": None if limits.verbose else is_job_line}
    if limits.isolation.value == "pool":
        child = pool.run(spec, timeout_s=limits.timeout_s, memory_mb=limits.memory_mb,
                         max_jobs=limits.pool.max_jobs, max_rss_mb=limits.pool.max_rss_mb,
                         **output)
    else:
        child = supervise(python_argv("edgebatch.batch.worker", str(spec)),
                          timeout_s=limits.timeout_s, memory_mb=limits.memory_mb, **output)
    result = read_result(out_dir)
    if result is None or not result.finished or child.cause is not None:
        result = _aborted(cfg, config, result, child, out_dir, recipe)
    result.process = _process_record(child, cfg)
    result.write(out_dir)
    return result


def _aborted(cfg: DictConfig, config: dict, partial: JobResult | None, child: ChildExit,
             out_dir: Path, recipe: str | None) -> JobResult:
    """The failed result of a job whose process ended before the job did."""
    result = partial or new_result(recipe).model_copy(update={
        "name": config.get("artifact_name"), "config": config, "job_key": job_key(config)})
    stage = (result.stage if not result.finished else None) or "startup"
    error = abort_error(child, cfg, stage)
    result.status, result.stage, result.finished_at = "failed", stage, now_iso()
    result.error = error_record(error)
    result.error.log_tail = child.log_tail
    log.error("[%s] FAILED at %s: %s: %s", result.name, stage, type(error).__name__, error)
    finish(cfg, result, out_dir)
    return result


def abort_error(child: ChildExit, cfg: DictConfig, stage: str) -> JobAbortedError:
    if child.cause == "timeout":
        return JobTimeoutError(f"the job ran past runner.timeout_s={cfg.runner.timeout_s:g} s "
                               f"in stage '{stage}' and was stopped")
    if child.cause == "memory":
        return JobMemoryError(f"the job's resident memory went past runner.memory_mb="
                              f"{cfg.runner.memory_mb:g} MB in stage '{stage}' and it was stopped")
    if child.signal_name is not None:
        what = signal.strsignal(-child.returncode) or child.signal_name
        hint = " (likely the kernel's out-of-memory killer)" if child.signal_name == "SIGKILL" else ""
        return JobCrashError(f"the job's process was killed by {child.signal_name} ({what}){hint} "
                             f"in stage '{stage}' (its output: {LOG_FILE})")
    return JobCrashError(f"the job's process exited with status {child.returncode} in stage "
                         f"'{stage}' without a result (its output: {LOG_FILE})")


def _process_record(child: ChildExit, cfg: DictConfig) -> ProcessRecord:
    record = ProcessRecord(isolation=cfg.runner.isolation.value, returncode=child.returncode,
                           signal=child.signal_name, limit_hit=child.cause,
                           seconds=round(child.seconds, 3), peak_rss_mb=child.peak_rss_mb,
                           timeout_s=cfg.runner.timeout_s, memory_mb=cfg.runner.memory_mb)
    if isinstance(child, pool.PoolExit):
        record.worker_pid, record.worker_job = child.worker_pid, child.worker_job
        record.worker_rss_mb = child.worker_rss_mb
    return record
