"""skip_unchanged: a job whose job key equals that of its name's latest successful run in the
registry is not run again.

The job key (edgebatch.batch.job_key) hashes the resolved recipe, the contents of the files
it reads and the tool versions (the git commit included), so an equal key means the same
conversion of the same model: the job's result is `ok` with an `unchanged` record naming
that run and the artifact version it registered, and the run is recorded again, so the
next check finds it as the latest.
"""

from __future__ import annotations

import logging
from pathlib import Path

from omegaconf import DictConfig

from edgebatch.batch.job import finish, new_result, now_iso
from edgebatch.batch.job_key import job_key
from edgebatch.batch.result import ArtifactRecord, JobResult, UnchangedRecord
from edgebatch.errors import RegistryError

log = logging.getLogger("edgebatch.batch")


def unchanged_result(cfg: DictConfig, config: dict, out_dir: Path,
                     recipe: str | None) -> JobResult | None:
    """The finished result of a job that needs no run, or None if it must run."""
    from edgebatch.registry import Registry

    name, key = config["artifact_name"], job_key(config)
    try:
        registry = Registry(cfg.registry.root, url=cfg.registry.url)
        last = registry.last_good(name)
        if last is None or last.job_key != key or last.artifact_version is None:
            return None
        artifact = registry.get(f"{name}@{last.artifact_version}")
    except RegistryError as error:  # e.g. that version was deleted since: run the job
        log.info("[%s] skip_unchanged: runs (%s)", name, error)
        return None
    result = new_result(recipe)
    result.name, result.config, result.job_key, result.status = name, config, key, "ok"
    result.unchanged = UnchangedRecord(run_id=last.run_id, version=artifact.version,
                                       finished_at=last.finished_at)
    result.artifact = ArtifactRecord(name=name, version=artifact.version, sha256=artifact.sha256,
                                     path=str(artifact.path), unchanged=True)
    result.finished_at = now_iso()
    log.info("[%s] unchanged: same job key as run %s (%s), not run", name, last.run_id,
             artifact.ref)
    finish(cfg, result, out_dir)
    return result
