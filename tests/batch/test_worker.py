"""The warm worker's per-job memory figures: the high-water mark starts again with each job."""

from __future__ import annotations

from edgebatch.batch.worker import _memory_status, _reset_peak_rss


def test_the_peak_of_an_earlier_job_does_not_count_for_the_next():
    hoard = bytearray(400 << 20)  # touched: resident
    del hoard
    before = _memory_status()
    assert before["VmHWM"] >= before["VmRSS"] + 300

    assert _reset_peak_rss()
    after = _memory_status()
    assert after["VmHWM"] < before["VmHWM"] - 300
