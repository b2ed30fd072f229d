"""One job: recipe → build → layout → quantize → convert → validate → benchmark → register → report.

`run_job(cfg, out_dir)` never raises for a failing model: the result records the stage
that failed, the error class and a stable error signature, and the job's directory
still gets result.json, the resolved config.yaml and the report. Each stage logs its
start and its duration, so a long suite shows where it is.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from omegaconf import DictConfig, OmegaConf

from edgebatch.batch import diagnose
from edgebatch.batch.environment import tool_versions
from edgebatch.batch.failures import error_record
from edgebatch.batch.result import JobResult
from edgebatch.batch.stages import PIPELINE, JobState
from edgebatch.errors import first_line

log = logging.getLogger("edgebatch.batch")

CONFIG_FILE = "config.yaml"


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


def new_result(recipe: str | None) -> JobResult:
    """A job's result before its first stage: status failed until the job says otherwise."""
    return JobResult(recipe=recipe, tool_versions=tool_versions(), started_at=now_iso())


def run_job(cfg: DictConfig, out_dir: str | Path, *, recipe: str | None = None) -> JobResult:
    """Run one job and write its outputs into `out_dir`; return its result.

    As each stage starts, result.json says `status: running` and names the stage, so a
    job whose process dies (a crash, a limit, a killed suite) still tells where it was.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = new_result(recipe)
    state = JobState(cfg, result, out_dir)

    def mark_running(stage: str) -> None:
        result.model_copy(update={"status": "running", "stage": stage}).write(out_dir)

    stages = Stages(recipe or "job", on_start=mark_running)
    try:
        for stage in PIPELINE:
            if stage.applies(cfg):
                with stages.stage(stage.name):
                    stage.run(state)
                    stages.name = result.name or stages.name
        result.status = "ok"
    except Exception as error:  # a failing model must never stop the other jobs
        result.stage = stages.current
        result.error = error_record(error)
        log.error("[%s] FAILED at %s: %s: %s", result.name or stages.name, stages.current,
                  type(error).__name__, first_line(error))
        log.debug("traceback", exc_info=True)
        if cfg.diagnosis.enabled and diagnose.applies(state, error):
            with stages.stage("diagnose"):
                result.diagnosis = diagnose.diagnose(state, error)
    result.timings = stages.timings
    result.finished_at = now_iso()
    finish(cfg, result, out_dir)
    log.info("[%s] %s in %.1f s → %s", result.name or stages.name, result.status.upper(),
             stages.elapsed, out_dir)
    return result


def finish(cfg: DictConfig, result: JobResult, out_dir: Path) -> None:
    """Record the run, write result.json and config.yaml, then the report; problems here
    are logged and never turn a finished job into a crash."""
    if cfg.registry.enabled and result.name:
        try:
            from edgebatch.registry import Registry

            error = result.error
            Registry(cfg.registry.root, url=cfg.registry.url).record_run(
                result.ensure_run_id(), result.name, status=result.status, stage=result.stage,
                error_class=error.error_class if error else None,
                error_signature=error.signature if error else None,
                error_message=error.message if error else None,
                artifact_version=result.artifact.version if result.artifact else None,
                started_at=result.started_at, finished_at=result.finished_at,
                config=result.config or {}, job_key=result.job_key,
            )
        except Exception as error:
            log.warning("[%s] could not record the run in the registry: %s", result.name, error)
    config = result.config
    if config is None:  # the config did not resolve: keep it unresolved
        config = OmegaConf.to_container(cfg, resolve=False)
        config.pop("hydra", None)
    (out_dir / CONFIG_FILE).write_text(OmegaConf.to_yaml(OmegaConf.create(config)))
    result.write(out_dir)
    if cfg.report.enabled:
        start = time.perf_counter()
        try:
            from edgebatch.report import write_job_report

            paths = write_job_report(result.to_dict(), out_dir)
            result.report = {k: str(p) for k, p in paths.items()}
        except Exception as error:
            log.warning("[%s] could not write the report: %s: %s", result.name,
                        type(error).__name__, error)
        result.timings["report"] = round(time.perf_counter() - start, 3)
        result.write(out_dir)
