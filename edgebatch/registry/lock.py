"""Registry-wide file lock: puts hold it shared, gc holds it alone.

gc must not delete a blob that a concurrent put has written but not yet indexed,
nor the temp file it is still writing; the kernel drops the lock of a killed process.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def registry_lock(path: Path, *, exclusive: bool) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)
