"""What a sweep or suite will run, before it runs: the jobs' overrides and resolved names.

Expands the sweep as Hydra's basic sweeper does (command-line overrides plus the
`hydra.sweeper.params` a suite sets, `glob(*)` included) and composes each job's config
with Hydra's own loader, so the plan names exactly the jobs the launcher will start.
Light: Hydra and OmegaConf only, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf


@dataclass(frozen=True)
class PlannedJob:
    number: int
    name: str  # the artifact name: the job's directory and registry name
    quant: str
    layout: str
    overrides: list[str]  # as given (without the dry_run switch)


def sweep_overrides(config: DictConfig) -> list[list[str]]:
    """Each job's override list, in launch order."""
    params = config.hydra.sweeper.get("params")
    params = OmegaConf.to_container(params, resolve=False) if params is not None else {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(config.hydra.overrides.task)
    parser = OverridesParser.create(config_loader=GlobalHydra.instance().config_loader())
    batches = BasicSweeper.split_arguments(parser.parse_overrides(arguments), None)
    return [list(job) for batch in batches for job in batch]


def plan(config: DictConfig) -> list[PlannedJob]:
    """Every job of the sweep, composed: resolved name, quantization and layout."""
    loader = GlobalHydra.instance().config_loader()
    jobs = []
    for number, overrides in enumerate(sweep_overrides(config)):
        job = loader.load_sweep_config(config, overrides)
        jobs.append(planned(number, job, overrides))
    return jobs


def planned(number: int, job: DictConfig, overrides: list[str]) -> PlannedJob:
    shown = [o for o in overrides if not o.startswith("dry_run=")]
    return PlannedJob(number, str(job.artifact_name), str(job.quant.name), str(job.layout.name), shown)


def format_plan(jobs: list[PlannedJob]) -> str:
    rows = [["#", "JOB", "QUANT", "LAYOUT", "OVERRIDES"]]
    rows += [[str(j.number), j.name, j.quant, j.layout, " ".join(j.overrides)] for j in jobs]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in rows]
    return "\n".join([*lines, f"{len(jobs)} job(s); nothing was run (--dry-run)"])
