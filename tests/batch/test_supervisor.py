"""The child-process supervisor on small Python children: limits, signals, logs."""

from __future__ import annotations

import sys

from edgebatch.batch.supervisor import supervise


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_clean_exit_keeps_the_output(tmp_path):
    child = supervise(python("print('hello'); print('world')"), log_path=tmp_path / "log")
    assert (child.returncode, child.cause, child.signal_name) == (0, None, None)
    assert child.log_tail == ["hello", "world"]
    assert (tmp_path / "log").read_text() == "hello\nworld\n"


def test_a_hang_is_stopped_at_the_time_limit(tmp_path):
    child = supervise(python("import time\nwhile True: time.sleep(1)"), log_path=tmp_path / "log",
                      timeout_s=1.0)
    assert (child.cause, child.signal_name) == ("timeout", "SIGKILL")
    assert 1.0 <= child.seconds < 10


def test_memory_past_the_limit_is_stopped(tmp_path):
    grow = "import time\nchunks = []\nwhile True:\n    chunks.append(bytearray(50 << 20)); time.sleep(0.02)"
    child = supervise(python(grow), log_path=tmp_path / "log", memory_mb=300, timeout_s=60)
    assert child.cause == "memory"
    assert 300 <= child.peak_rss_mb < 2000


def test_the_limit_covers_the_childs_own_children(tmp_path):
    grandchild = "import subprocess, sys; subprocess.run([sys.executable, '-c', 'import time; time.sleep(600)'])"
    child = supervise(python(grandchild), log_path=tmp_path / "log", timeout_s=1.0)
    assert child.cause == "timeout" and child.seconds < 10  # the grandchild did not keep it alive


def test_a_native_crash_keeps_the_dump_as_the_tail(tmp_path):
    code = "import faulthandler, ctypes\nfaulthandler.enable()\nprint('before')\nctypes.string_at(0)"
    child = supervise(python(code), log_path=tmp_path / "log")
    assert (child.signal_name, child.cause) == ("SIGSEGV", None)
    assert child.log_tail[0].startswith("Fatal Python error: Segmentation fault")
    assert not any(line.startswith("Extension modules:") for line in child.log_tail)
