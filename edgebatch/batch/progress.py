"""A sweep's progress line: jobs done of the total, failures so far, time left.

It watches the sweep directory for finished result.json files rather than listening to
jobs, so it counts the same on every launcher (in-process, joblib workers, submitit). On a
terminal it is one live line (rich); otherwise a plain line each time a job finishes.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from edgebatch.batch.result import RESULT_FILE, JobResult

POLL_S = 1.0


class SweepProgress:
    def __init__(self, sweep_dir: Path, total: int, *, stream: TextIO | None = None):
        self.sweep_dir = Path(sweep_dir)
        self.total = total
        self.stream = stream or sys.stderr
        self._started = time.time()
        self._seen: dict[Path, bool] = {}  # result file -> job failed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._live = None

    @property
    def done(self) -> int:
        return len(self._seen)

    @property
    def failed(self) -> int:
        return sum(self._seen.values())

    def eta_s(self) -> float | None:
        if not self.done:
            return None
        per_job = (time.time() - self._started) / self.done
        return per_job * max(self.total - self.done, 0)

    def line(self) -> str:
        eta = self.eta_s()
        left = "?" if eta is None else _clock(eta)
        return (f"sweep: {self.done}/{self.total} done, {self.failed} failed, "
                f"{_clock(time.time() - self._started)} elapsed, ETA {left}")

    def start(self) -> None:
        if self.stream.isatty():
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self.line(), console=Console(file=self.stream),
                              refresh_per_second=2, transient=True)
            self._live.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._poll()
        if self._live is not None:
            self._live.stop()

    def _watch(self) -> None:
        while not self._stop.wait(POLL_S):
            self._poll()

    def _poll(self) -> None:
        new = False
        for path in self.sweep_dir.glob(f"*/{RESULT_FILE}"):
            if path in self._seen or path.stat().st_mtime < self._started:
                continue  # counted, or left by an earlier run of this sweep
            try:
                result = JobResult.read(path.parent)
            except (OSError, ValueError):
                continue  # being written
            if result.finished:
                self._seen[path] = result.status != "ok"
                new = True
        if self._live is not None:
            self._live.update(self.line())
        elif new:
            print(self.line(), file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
