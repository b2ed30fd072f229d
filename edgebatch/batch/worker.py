"""The child process of an isolated job: `python -m edgebatch.batch.worker JOB_SPEC`.

The spec (written by edgebatch.batch.runner) holds the resolved config, the recipe name
and the job directory. The worker runs the job exactly as an inline run would; all it
prints goes to the job's log. edgebatch's own log lines start with "[HH:MM:SS] ", every
other logger's with its name, so that the parent can show only the former on the console
(`is_job_line`) and leave TensorFlow's, absl's and LiteRT's chatter in the log.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import re
import sys
from pathlib import Path

from edgebatch.batch.supervisor import die_with_parent

_QUIET_LOGGERS = {"tensorflow": logging.WARNING, "absl": logging.WARNING, "torch": logging.ERROR}
_JOB_LINE = re.compile(r"\[\d\d:\d\d:\d\d\] ")


def is_job_line(line: str) -> bool:
    """A line of edgebatch's own job log (stage starts and durations, failures)."""
    return _JOB_LINE.match(line) is not None


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
    others = logging.StreamHandler(sys.stderr)
    others.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[others], force=True)
    own = logging.StreamHandler(sys.stderr)
    own.setFormatter(logging.Formatter("[%(asctime)s] %(message)s", datefmt="%H:%M:%S"))
    edgebatch_log = logging.getLogger("edgebatch")
    edgebatch_log.addHandler(own)
    edgebatch_log.propagate = False
    for name, level in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(level)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
