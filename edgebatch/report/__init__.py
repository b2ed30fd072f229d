"""Markdown and self-contained HTML reports: one job, a sweep, a nightly regression.

The batch runner calls these with the dicts it writes as result.json; any section of a
result may be missing, and the report shows what exists.
"""

from edgebatch.report.job import write_job_report
from edgebatch.report.regression import write_regression_report
from edgebatch.report.sweep import write_sweep_report

__all__ = ["write_job_report", "write_regression_report", "write_sweep_report"]
