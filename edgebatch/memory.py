"""Resident memory of this process: the peak while a block of code runs."""

from __future__ import annotations

import threading

import psutil


class PeakRss:
    """Peak resident memory of this process while the block runs.

    with PeakRss() as peak: ...; peak.mb

    Sampled every 20 ms, which misses short spikes; a block that raises the process's
    high-water mark (VmHWM) has that as its peak, exactly. The mark is only read, never
    reset (/proc/self/clear_refs), so it stays true for whoever measures the whole process.
    """

    def __init__(self, interval_s: float = 0.02):
        self._process = psutil.Process()
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak_bytes = 0

    def _sample(self) -> None:
        while True:
            self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
            if self._stop.wait(self._interval):
                return

    def __enter__(self) -> "PeakRss":
        self._hwm_before = _high_water_mark()
        self.peak_bytes = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._process.memory_info().rss)
        hwm_after = _high_water_mark()
        if hwm_after > self._hwm_before:
            self.peak_bytes = max(self.peak_bytes, hwm_after)

    @property
    def mb(self) -> float:
        return self.peak_bytes / 2**20


def _high_water_mark() -> int:
    """This process's peak resident memory so far, in bytes (0 where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
