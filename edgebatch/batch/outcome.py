"""The exit status of an `edgebatch` invocation, set by the job (single run) or by the
multirun-end callback (sweeps, suites), read by `edgebatch.cli.main`.

0: every job succeeded (suites with fail_on=regression: no regression);
1: a job failed, or a suite found a regression;
2: a job's config is invalid (it failed at its recipe stage with a RecipeError).
"""

from __future__ import annotations

from edgebatch.batch.result import JobResult

_status = 0
EXIT_CONFIG_ERROR = 2


def reset() -> None:
    global _status
    _status = 0
EXIT_CONFIG_ERROR = 2


def report(code: int) -> None:
    """Record an exit status; the worst one reported wins."""
    global _status
    _status = max(_status, int(code))


def exit_code() -> int:
    return _status


def job_status(result: JobResult) -> int:
    """The exit status one job's result calls for."""
    if result.status == "ok":
        return 0
    if result.stage == "recipe" and result.error and result.error.error_class == "RecipeError":
        return EXIT_CONFIG_ERROR
    return 1
