"""Integrity of the registry: every indexed blob present and intact, nothing stray in the store.

Problems, by kind:
  missing  an artifact's blob does not exist
  corrupt  a blob's bytes do not hash to its name, or are not a TFLite flatbuffer
  orphan   a blob no artifact uses (a put that died between its blob and its index row)
  temp     a temp file of a write that died before its rename
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgebatch.registry.store import BlobStore

TFLITE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, at bytes 4..8
PROBLEM_KINDS = ("missing", "corrupt", "orphan", "temp")


def is_tflite(data: bytes) -> bool:
    return data[4:8] == TFLITE_IDENTIFIER


def blob_defect(data: bytes, sha256: str) -> str | None:
    """Why `data` is not an intact blob named `sha256`, or None if it is."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        return f"sha256 {actual}, expected {sha256}"
    if not is_tflite(data):
        return "not a TFLite flatbuffer"
    return None


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the store; `refs` are the artifacts (NAME@VERSION) whose blob it is."""

    kind: str
    path: Path
    detail: str
    refs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyReport:
    artifacts_checked: int
    blobs_checked: int
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        """{kind: number of problems} for every kind, in PROBLEM_KINDS order."""
        return {kind: sum(p.kind == kind for p in self.problems) for kind in PROBLEM_KINDS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (paths as strings)."""
        return {
            "ok": self.ok,
            "artifacts_checked": self.artifacts_checked,
            "blobs_checked": self.blobs_checked,
            "counts": self.counts(),
            "problems": [{**asdict(p), "path": str(p.path)} for p in self.problems],
        }


def check_store(
    store: BlobStore,
    refs_by_sha256: dict[str, list[str]],
    blobs: set[str],
    temp_files: list[Path],
) -> VerifyReport:
    """Re-hash every blob the index references; report those missing or corrupt, then the
    blobs and temp files (a snapshot taken with the index) that nothing references."""
    problems = []
    for sha256, refs in refs_by_sha256.items():
        path = store.path(sha256)
        try:
            with store.open(sha256) as blob:
                data = blob.read()
        except FileNotFoundError:
            problems.append(Problem("missing", path, "no such file", refs))
            continue
        defect = blob_defect(data, sha256)
        if defect is not None:
            problems.append(Problem("corrupt", path, defect, refs))
    problems += [
        Problem("orphan", store.path(sha256), "no artifact uses this blob")
        for sha256 in sorted(blobs)
        if sha256 not in refs_by_sha256
    ]
    problems += [Problem("temp", path, "left by an interrupted write") for path in temp_files]
    return VerifyReport(
        artifacts_checked=sum(len(refs) for refs in refs_by_sha256.values()),
        blobs_checked=len(refs_by_sha256),
        problems=problems,
    )
