"""The exit status of an `edgebatch` invocation, set by the job (single run) or by the
multirun-end callback (sweeps, suites), read by `edgebatch.cli.main`.

0: every job succeeded (suites with fail_on=regression: no regression);
1: a job failed, or a suite found a regression.
"""

from __future__ import annotations

_status = 0


def reset() -> None:
    global _status
    _status = 0


def report(code: int) -> None:
    """Record an exit status; the worst one reported wins."""
    global _status
    _status = max(_status, int(code))


def exit_code() -> int:
    return _status
