"""A warm worker: jobs run one after another in a long-lived child (runner.isolation=pool).

Each child of runner.isolation=process pays for importing torch, torch._dynamo and
TensorFlow before its job starts; a warm worker (`python -m edgebatch.batch.worker
--serve FD`) pays once and then runs the job specs it is sent. The limits and the failure
records stay those of a fresh child:

- The worker has its own process group; its output (fd 1 and 2, native libraries' lines
  too) comes through one pipe and goes to the log of the job it is running, which the
  worker ends with a marker line (`worker.DONE_MARKER`). Lines between jobs are dropped.
- A job's clock starts when it is sent (or, for a worker started for it, when the worker
  starts: its imports count, as in a fresh child); the resident memory of the worker and
  its descendants is sampled while the job runs. A job past `timeout_s` or `memory_mb`,
  or one that ends the worker (a crash, `os._exit`), kills the whole group; the next job
  gets a fresh worker.
- Peak memory per job: the larger of the sampled peak and the worker's own high-water
  mark, which it resets as each job starts.
- Recycling: after `max_jobs` jobs, or when the worker's resident memory after a job is
  above `max_rss_mb`, the worker is stopped, so what jobs leave behind cannot pile up.

One worker per process, kept at module level and started on first use: the basic
launcher's jobs share it; each joblib (loky) worker process keeps its own. It is stopped
when this process exits, and it dies with this process (`die_with_parent`).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from edgebatch.batch.supervisor import (
    POLL_S, ChildExit, OutputSink, kill_group, limit_hit, python_argv, tree_rss,
)
from edgebatch.batch.worker import DONE_MARKER, SERVE_FLAG

_EOF = object()  # what the reader queues when the worker's output ends


@dataclass
class PoolExit(ChildExit):
    """How a job on a warm worker ended (returncode 0 while the worker lives on)."""

    worker_pid: int = 0
    worker_job: int = 0  # 1 for the first job of this worker (its start-up included), ...
    worker_rss_mb: float | None = None  # the worker's resident memory after the job


class WarmWorker:
    """One `worker --serve` child, its command pipe and the thread that reads its output."""

    def __init__(self, sink: OutputSink):
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                python_argv("edgebatch.batch.worker", SERVE_FLAG, str(read_end)),
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                pass_fds=(read_end,), start_new_session=True,
                text=True, encoding="utf-8", errors="replace", bufsize=1,
            )
        finally:
            os.close(read_end)
        self.commands = os.fdopen(write_end, "w", encoding="utf-8")
        self.started = time.monotonic()
        self.jobs = 0
        self._sink: OutputSink | None = sink
        self._lock = threading.Lock()
        self._done: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def send(self, spec: Path, sink: OutputSink) -> None:
        with self._lock:
            self._sink = sink
        self.jobs += 1
        try:
            self.commands.write(json.dumps({"spec": str(spec)}) + "\n")
            self.commands.flush()
        except OSError:  # it died just now: the caller sees it end, as in a job
            pass

    def wait_done(self, timeout_s: float):
        """The worker's report of the job (a dict), `_EOF`, or None if not yet."""
        try:
            return self._done.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def _read(self) -> None:
        for line in self.process.stdout:
            text, marker, report = line.partition(DONE_MARKER)
            with self._lock:
                if text and self._sink is not None:
                    self._sink.write(text if not marker else text + "\n")
                if marker:
                    self._sink = None
            if marker:
                self._done.put(json.loads(report))
        self._done.put(_EOF)

    def kill(self) -> None:
        """Kill the worker's whole process group and wait for it."""
        kill_group(self.process)
        self._finish()

    def _finish(self) -> None:
        self.process.wait()
        self._reader.join(timeout=5)
        try:
            self.commands.close()
        except OSError:  # the worker is gone: what was still buffered has nowhere to go
            pass


_worker: WarmWorker | None = None
_busy = threading.Lock()  # one job at a time on this process's worker


def run(
    spec: Path,
    *,
    log_path: Path,
    timeout_s: float | None,
    memory_mb: float | None,
    max_jobs: int | None,
    max_rss_mb: float | None,
    echo: TextIO | None = None,
    echo_line: Callable[[str], bool] | None = None,
) -> PoolExit:
    """Run the job spec on this process's warm worker (started if there is none) under the
    limits; never raises for what the job does."""
    global _worker
    with _busy, open(log_path, "a", encoding="utf-8", errors="replace") as log:
        sink = OutputSink(log, echo, echo_line)
        worker = _worker
        if worker is not None and worker.process.poll() is not None:  # died while idle
            worker.kill()
            worker = None
        if worker is None:
            worker = _worker = WarmWorker(sink)
            start = worker.started
        else:
            start = time.monotonic()
        worker.send(spec, sink)
        cause, peak, report = None, 0, None
        try:
            while True:
                report = worker.wait_done(POLL_S)
                if report is not None or worker.process.poll() is not None:
                    break
                rss = tree_rss(worker.pid)
                peak = max(peak, rss)
                cause = limit_hit(time.monotonic() - start, rss, timeout_s, memory_mb)
                if cause:
                    break
        finally:
            finished = isinstance(report, dict)
            if not finished:  # a limit, a dead worker, or this process interrupted (Ctrl-C)
                _worker = None
                worker.kill()
        seconds = time.monotonic() - start
        if not finished:
            return PoolExit(returncode=worker.process.returncode, cause=cause, seconds=seconds,
                            peak_rss_mb=round(peak / 2**20, 1), log_tail=list(sink.tail),
                            worker_pid=worker.pid, worker_job=worker.jobs)
        peak_mb = max(round(peak / 2**20, 1), report["peak_rss_mb"] or 0.0)
        if _unhealthy(worker, report["rss_mb"], max_jobs, max_rss_mb):
            _worker = None
            worker.kill()  # idle: nothing of it is lost
        return PoolExit(returncode=0, cause=None, seconds=seconds, peak_rss_mb=peak_mb,
                        log_tail=list(sink.tail), worker_pid=worker.pid,
                        worker_job=worker.jobs, worker_rss_mb=report["rss_mb"])


def _unhealthy(worker: WarmWorker, rss_mb: float | None, max_jobs: int | None,
               max_rss_mb: float | None) -> bool:
    """Time to replace the worker: it ran `max_jobs` jobs, or holds more than `max_rss_mb`."""
    return ((max_jobs is not None and worker.jobs >= max_jobs)
            or (max_rss_mb is not None and rss_mb is not None and rss_mb > max_rss_mb))


def shutdown() -> None:
    """Kill this process's warm worker, if any (also run at exit)."""
    global _worker
    worker, _worker = _worker, None
    if worker is not None:
        worker.kill()


atexit.register(shutdown)
