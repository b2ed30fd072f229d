"""The sweep progress line, counting finished result.json files in a real directory."""

from __future__ import annotations

import io

from edgebatch.batch.progress import SweepProgress
from edgebatch.batch.result import JobResult


def finish(sweep, name: str, status: str) -> None:
    job_dir = sweep / name
    job_dir.mkdir()
    JobResult(name=name, status=status, finished_at="2026-01-01T00:00:00+00:00").write(job_dir)


def test_plain_lines_count_done_failed_and_eta(tmp_path):
    stream = io.StringIO()  # not a terminal: one plain line per poll that found a new result
    progress = SweepProgress(tmp_path, total=3, stream=stream)
    assert progress.line().startswith("sweep: 0/3 done, 0 failed") and progress.line().endswith("ETA ?")
    progress.start()
    finish(tmp_path, "0_a", "ok")
    finish(tmp_path, "1_b", "failed")
    progress.stop()
    lines = stream.getvalue().splitlines()
    assert lines and lines[-1].startswith("sweep: 2/3 done, 1 failed, ")
    assert "ETA 0:0" in lines[-1]  # one job left, at the pace so far


def test_results_of_an_earlier_run_are_not_counted(tmp_path):
    finish(tmp_path, "0_a", "ok")  # left by an earlier run of this sweep (resume)
    progress = SweepProgress(tmp_path, total=2, stream=io.StringIO())
    progress.start()
    progress.stop()
    assert progress.done == 0
