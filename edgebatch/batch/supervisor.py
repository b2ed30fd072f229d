"""Run a command in a child process under a wall-clock and a memory limit.

The child gets its own process group, so a timeout or a memory overrun kills everything
it started (a child that calls `die_with_parent` also dies when this process is killed,
so a killed suite leaves no orphaned conversions behind). Its merged stdout/stderr (file
descriptors 1 and 2, so native libraries' lines too) is written to a log file, optionally
echoed (all lines, or those a filter keeps), and its last lines are kept for the failure record.

Memory is the resident set of the child and its descendants, sampled every
`POLL_S`: an address-space cap (RLIMIT_AS) would refuse torch and TensorFlow, which
reserve far more virtual memory than they use.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import psutil

POLL_S = 0.1
LOG_TAIL_LINES = 40
_PR_SET_PDEATHSIG = 1
_CRASH_DUMP_START = "Fatal Python error"
_NOISE = "Extension modules:"  # faulthandler's list of every loaded C extension


@dataclass
class ChildExit:
    """How the child ended. `cause`: None (exited by itself), "timeout" or "memory"."""

    returncode: int
    cause: str | None
    seconds: float
    peak_rss_mb: float
    log_tail: list[str] = field(default_factory=list)

    @property
    def signal_name(self) -> str | None:
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


def die_with_parent() -> None:
    """Called first thing in a child: SIGKILL this process when its parent dies (Linux).
    Done by the child, not as a preexec_fn, which may deadlock in a parent with threads."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def supervise(
    argv: list[str],
    *,
    log_path: Path,
    timeout_s: float | None = None,
    memory_mb: float | None = None,
    echo: TextIO | None = None,
    echo_line: Callable[[str], bool] | None = None,  # which lines to echo; None: all
    env: dict[str, str] | None = None,
) -> ChildExit:
    """Run `argv` to the end or to a limit; never raises for what the child does."""
    start = time.monotonic()
    with open(log_path, "a", encoding="utf-8", errors="replace") as log:
        sink = OutputSink(log, echo, echo_line)
        child = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=env,
            text=True, encoding="utf-8", errors="replace", bufsize=1,
        )
        reader = threading.Thread(target=_copy_output, args=(child.stdout, sink), daemon=True)
        reader.start()
        cause, peak = None, 0
        try:
            while child.poll() is None:
                rss = tree_rss(child.pid)
                peak = max(peak, rss)
                cause = limit_hit(time.monotonic() - start, rss, timeout_s, memory_mb)
                if cause:
                    kill_group(child)
                    break
                time.sleep(POLL_S)
        finally:
            if child.poll() is None:  # interrupted (Ctrl-C) or a limit: take the job down with us
                kill_group(child)
            child.wait()
            reader.join(timeout=5)
    return ChildExit(returncode=child.returncode, cause=cause, seconds=time.monotonic() - start,
                     peak_rss_mb=round(peak / 2**20, 1), log_tail=list(sink.tail))


class OutputSink:
    """Where a job's output lines go: its log file, the console (all lines, or those
    `echo_line` keeps), and the tail kept for the failure record. A native crash's dump
    (faulthandler: the error, then the stack innermost first) replaces the tail, since its
    first lines are the telling ones."""

    def __init__(self, log: TextIO, echo: TextIO | None = None,
                 echo_line: Callable[[str], bool] | None = None):
        self.log, self.echo, self.echo_line = log, echo, echo_line
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self._crash_dump = False

    def write(self, line: str) -> None:
        self.log.write(line)
        self.log.flush()
        tail = self.tail
        if line.startswith(_CRASH_DUMP_START):
            tail.clear()
            self._crash_dump = True
        if not (self._crash_dump and len(tail) == tail.maxlen) and not line.startswith(_NOISE):
            tail.append(line.rstrip("\n"))
        if self.echo is not None and (self.echo_line is None or self.echo_line(line)):
            self.echo.write(line)
            self.echo.flush()


def _copy_output(stream, sink: OutputSink) -> None:
    for line in stream:
        sink.write(line)


def limit_hit(seconds: float, rss: int, timeout_s: float | None,
              memory_mb: float | None) -> str | None:
    """"timeout" or "memory" if the job went past that limit, else None."""
    if timeout_s is not None and seconds > timeout_s:
        return "timeout"
    if memory_mb is not None and rss > memory_mb * 2**20:
        return "memory"
    return None


def tree_rss(pid: int) -> int:
    try:
        process = psutil.Process(pid)
        processes = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def python_argv(module: str, *args: str) -> list[str]:
    """`python -m module args...` with this interpreter."""
    return [sys.executable, "-m", module, *args]
