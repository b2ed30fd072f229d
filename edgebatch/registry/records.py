"""What the registry hands back: artifacts and run records."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MetricValue = float | int | str | None
RUN_STATUSES = ("ok", "failed")


@dataclass(frozen=True)
class Artifact:
    """One registered version of a converted model."""

    name: str
    version: int
    sha256: str
    size_bytes: int
    path: Path
    created_at: str
    recipe: dict[str, Any]
    tool_versions: dict[str, str]
    metrics: dict[str, MetricValue]
    aliases: list[str] = field(default_factory=list)
    run_id: str | None = None
    report_paths: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    # Set only on what `Registry.put` returns: the bytes equalled the latest version's, so no
    # version was added and this is that latest version. Not part of the stored record.
    unchanged: bool = field(default=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view of the stored record (the path as a string)."""
        record = {**asdict(self), "path": str(self.path)}
        del record["unchanged"]
        return record


@dataclass(frozen=True)
class Run:
    """One batch job's outcome, successful or not."""

    run_id: str
    name: str
    status: str
    stage: str | None
    error_class: str | None
    error_signature: str | None
    error_message: str | None
    artifact_version: int | None
    started_at: str | None
    finished_at: str | None
    config: dict[str, Any]
    job_key: str | None = None  # edgebatch.batch.job_key: what decided the job's outcome
