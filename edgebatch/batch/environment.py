"""What a job records about where it ran: tool versions, the git commit, peak memory."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import psutil

# distribution names, first found wins (tensorflow ships as tensorflow-cpu here)
_TOOLS = {
    "edgebatch": ("edgebatch",),
    "torch": ("torch",),
    "torchvision": ("torchvision",),
    "torchaudio": ("torchaudio",),
    "torchao": ("torchao",),
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "ai-edge-litert": ("ai-edge-litert",),
    "numpy": ("numpy",),
    "hydra-core": ("hydra-core",),
}


@functools.lru_cache(maxsize=1)
def tool_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for tool, dists in _TOOLS.items():
        versions[tool] = next((v for d in dists if (v := _version(d))), None)
    versions["python"] = sys.version.split()[0]
    versions["git_commit"] = git_commit()
    return versions


def host() -> dict[str, object]:
    """CPU model, core counts and OS of this machine (where a benchmark ran)."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo
                        if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "logical_cores": os.cpu_count() or 1,
            "physical_cores": psutil.cpu_count(logical=False), "machine": platform.machine(),
            "system": f"{platform.system()} {platform.release()}"}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_commit() -> str | None:
    """HEAD of the checkout edgebatch runs from, with '+dirty' for local changes; None
    outside a git checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
