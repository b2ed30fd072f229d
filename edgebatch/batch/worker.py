"""The child process of isolated jobs: `python -m edgebatch.batch.worker JOB_SPEC` runs one
job (runner.isolation=process); `python -m edgebatch.batch.worker --serve FD` is a warm
worker (runner.isolation=pool, see edgebatch.batch.pool) that imports torch, torch._dynamo
and TensorFlow once, then runs the job specs it reads from file descriptor FD, one JSON
line each (`{"spec": PATH}`), one after another, until FD closes.

The spec (written by edgebatch.batch.runner) holds the resolved config, the recipe name
and the job directory. The worker runs the job exactly as an inline run would; all it
prints goes to the job's log. A warm worker ends each job with one line that starts with
`DONE_MARKER`, followed by JSON: its resident memory after the job and its peak during the
job (the kernel's high-water mark, reset as the job starts), in MB. edgebatch's own log lines start with "[HH:MM:SS] ", every
other logger's with its name, so that the parent can show only the former on the console
(`is_job_line`) and leave TensorFlow's, absl's and LiteRT's chatter in the log.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import json
import logging
import os
import re
import sys
from pathlib import Path

from edgebatch.batch.supervisor import die_with_parent

_QUIET_LOGGERS = {"tensorflow": logging.WARNING, "absl": logging.WARNING, "torch": logging.ERROR}
_JOB_LINE = re.compile(r"\[\d\d:\d\d:\d\d\] ")
DONE_MARKER = "\x1eedgebatch-worker-done "
SERVE_FLAG = "--serve"
_RESET_PEAK_RSS = "5"  # written to /proc/self/clear_refs: VmHWM starts again from VmRSS


def is_job_line(line: str) -> bool:
    """A line of edgebatch's own job log (stage starts and durations, failures)."""
    return _JOB_LINE.match(line) is not None


def main(argv: list[str]) -> int:
    die_with_parent()
    faulthandler.enable()  # a native crash prints the Python stack into the job's log
    _log_to_stderr()
    if argv[0] == SERVE_FLAG:
        return serve(int(argv[1]))
    (spec_path,) = argv
    run_spec(spec_path)
    return 0


def run_spec(spec_path: str) -> None:
    from omegaconf import OmegaConf

    from edgebatch.batch.job import run_job
    from edgebatch.recipe import EdgeBatchConfig

    spec = json.loads(Path(spec_path).read_text())
    cfg = OmegaConf.merge(OmegaConf.structured(EdgeBatchConfig), spec["config"])
    run_job(cfg, spec["out_dir"], recipe=spec["recipe"])


def serve(command_fd: int) -> int:
    """Run each job spec read from `command_fd`; return when the parent closes it."""
    from edgebatch._imports import tensorflow

    tensorflow()  # torch, torch._dynamo, then TensorFlow (the order is mandatory), once
    with os.fdopen(command_fd, encoding="utf-8") as commands:
        for line in commands:
            reset = _reset_peak_rss()
            run_spec(json.loads(line)["spec"])
            gc.collect()  # what the job left unreachable does not count against the worker
            _return_free_heap()
            sys.stdout.flush()
            sys.stderr.flush()
            memory = _memory_status()
            report = {"rss_mb": memory.get("VmRSS"),
                      "peak_rss_mb": memory.get("VmHWM") if reset else None}
            os.write(1, (DONE_MARKER + json.dumps(report) + "\n").encode())
    return 0


def _return_free_heap() -> None:
    """Give the heap a job freed back to the system (glibc keeps it otherwise: TF's
    converter leaves ~45 MB on resnet18, ~400 MB on vit_b_16), so a warm worker's
    resident memory is what it holds, and its recycling limit is not reached early."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write(_RESET_PEAK_RSS)
        return True
    except OSError:  # not Linux, or not allowed: the parent's sampling alone says the peak
        return False


def _memory_status() -> dict[str, float]:
    """VmRSS and VmHWM of this process in MB (empty where /proc is missing)."""
    status: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="utf-8") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    status[key] = round(int(value.split()[0]) / 1024, 1)  # kB
    except OSError:
        pass
    return status


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
