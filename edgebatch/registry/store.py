"""Blob stores: `.tflite` bytes addressed by their sha256, each written atomically.

`BlobStore` is what the registry needs from a store; `DirectoryBlobStore` keeps blobs as
files under a directory (local, or a mount every machine of a cluster shares):
`<root>/<sha[:2]>/<sha>.tflite`. A blob appears under its final name only after its bytes
are fsynced, so a reader never sees a partial blob. A writer killed mid-write leaves a
hidden `*.tmp` file that readers ignore and `Registry.gc` removes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

BLOB_SUFFIX = ".tflite"
TEMP_SUFFIX = ".tmp"


class BlobStore(Protocol):
    """Where the registry keeps blob bytes; identical bytes are stored once."""

    def put(self, data: bytes) -> str:
        """Store `data` (or reuse its intact blob) and return its sha256."""

    def open(self, sha256: str) -> BinaryIO:
        """The blob's bytes for reading; FileNotFoundError if it is missing."""

    def path(self, sha256: str) -> Path:
        """Where the blob lives (what artifacts and problem reports show)."""

    def exists(self, sha256: str) -> bool:
        """Whether a blob (intact or not) is stored under `sha256`."""

    def blobs(self) -> Iterator[str]:
        """The sha256 of every complete blob."""

    def delete(self, sha256: str) -> int:
        """Remove a blob; return the bytes it held."""

    def temp_files(self) -> Iterator[Path]:
        """Leftovers of writes that never completed."""

    def delete_temp_file(self, path: Path) -> int:
        """Remove one of `temp_files()`; return the bytes it held."""


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in directory `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` holds either its old content or all of `data`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o644)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


class DirectoryBlobStore:
    """A `BlobStore` in a directory: one file per blob, named by the sha256 of its bytes."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}{BLOB_SUFFIX}"

    def put(self, data: bytes) -> str:
        """Store `data` (or reuse its existing blob) and return its sha256.

        An existing blob is reused only if it still hashes to its name: putting the same
        bytes again repairs a damaged or deleted blob.
        """
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path(sha256)
        if path.is_file() and _file_sha256(path) == sha256:
            return sha256
        if not path.parent.is_dir():
            path.parent.mkdir(exist_ok=True)
            fsync_dir(self.root)
        write_atomic(path, data)
        return sha256

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def blobs(self) -> Iterator[str]:
        for path in self.root.glob(f"*/*{BLOB_SUFFIX}"):
            if not path.name.startswith("."):
                yield path.name.removesuffix(BLOB_SUFFIX)

    def delete(self, sha256: str) -> int:
        return _remove(self.path(sha256))

    def temp_files(self) -> Iterator[Path]:
        return self.root.glob(f"*/.*{TEMP_SUFFIX}")

    def delete_temp_file(self, path: Path) -> int:
        return _remove(path)


def _file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _remove(path: Path) -> int:
    size = path.stat().st_size
    path.unlink()
    return size
