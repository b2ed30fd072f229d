"""The child process of an isolated job: `python -m edgebatch.batch.worker JOB_SPEC`.

The spec (written by edgebatch.batch.runner) holds the resolved config, the recipe name
and the job directory. The worker runs the job exactly as an inline run would; what it
prints goes to the job's log and, through the parent, to the console.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import sys
from pathlib import Path

from edgebatch.batch.supervisor import die_with_parent

_QUIET_LOGGERS = {"tensorflow": logging.WARNING, "absl": logging.WARNING, "torch": logging.ERROR}


def main(argv: list[str]) -> int:
    die_with_parent()
    faulthandler.enable()  # a native crash prints the Python stack into the job's log
    (spec_path,) = argv
    spec = json.loads(Path(spec_path).read_text())
    _log_to_stderr()

    from omegaconf import OmegaConf

    from edgebatch.batch.job import run_job
    from edgebatch.recipe import EdgeBatchConfig

    cfg = OmegaConf.merge(OmegaConf.structured(EdgeBatchConfig), spec["config"])
    run_job(cfg, spec["out_dir"], recipe=spec["recipe"])
    return 0


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", datefmt="%H:%M:%S"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
