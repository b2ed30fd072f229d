"""The batch runner: one job (`run_job`), and what closes a sweep or suite (callbacks)."""

from edgebatch.batch.job import run_job

__all__ = ["run_job"]
