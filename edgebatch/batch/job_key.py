"""The job key: one hash of everything that decides a job's outcome.

Resolved recipe (without where outputs go and how the run is driven), the contents of
every file the recipe reads (weights, stored inputs) and the tool versions. Two jobs
with the same key convert the same model the same way, so `resume=true` can keep a
finished job's result instead of redoing it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from edgebatch.batch.environment import tool_versions

# Keys of the resolved config that do not change what a job produces.
_RUN_ONLY_KEYS = ("paths", "resume", "skip_unchanged", "promote", "runner", "suite", "report",
                  "diagnosis", "registry")
# Keys whose string value is a path of a file the job reads.
_FILE_KEYS = ("weights_path", "file")
_CHUNK = 1 << 20


def job_key(config: dict[str, Any]) -> str:
    """sha256 hex of the job's identity, from its resolved config (a plain dict)."""
    identity = {key: value for key, value in config.items() if key not in _RUN_ONLY_KEYS}
    files = {path: file_digest(path) for path in sorted(_file_paths(identity))}
    payload = {"config": identity, "files": files, "tools": tool_versions()}
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def _file_paths(node: Any) -> set[str]:
    paths: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _FILE_KEYS and isinstance(value, str):
                paths.add(value)
            else:
                paths |= _file_paths(value)
    elif isinstance(node, list):
        for value in node:
            paths |= _file_paths(value)
    return paths


def file_digest(path: str) -> str | None:
    """sha256 of a file's contents; None if it cannot be read (the job will say why)."""
    digest = hashlib.sha256()
    try:
        with open(Path(path).expanduser(), "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()
